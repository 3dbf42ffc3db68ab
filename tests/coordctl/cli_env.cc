#include "cli_env.h"

#include <atomic>

namespace coord::test {
namespace {

Ensemble* g_ensemble = nullptr;

// Stops the ensemble after the last test (if one was started).
class EnsembleTeardown : public ::testing::Environment {
 public:
  void TearDown() override {
    delete g_ensemble;
    g_ensemble = nullptr;
  }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new EnsembleTeardown);

}  // namespace

Ensemble& SharedEnsemble() {
  if (g_ensemble == nullptr) {
    g_ensemble = new Ensemble(3, 30);
    Status started = g_ensemble->StartAll();
    if (!started.ok()) {
      ADD_FAILURE() << "ensemble: " << started;
    } else if (auto leader = g_ensemble->WaitStableLeader(std::chrono::seconds(20)); !leader.ok()) {
      ADD_FAILURE() << "no leader: " << leader.status();
    }
  }
  return *g_ensemble;
}

std::string Endpoints() {
  Ensemble& e = SharedEnsemble();
  std::string s;
  for (int i = 0; i < 3; ++i) {
    if (!s.empty()) s += ",";
    s += e.member(i).client_address;
  }
  return s;
}

CtlResult Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), {"--endpoints", Endpoints()});
  return RunCtl(args);
}

std::unique_ptr<CtlProcess> StartCtl(std::vector<std::string> args) {
  args.insert(args.begin(), {"--endpoints", Endpoints()});
  return StartCoordctl(args);
}

std::string Fresh(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(counter.fetch_add(1) + 1);
}

google::protobuf::Struct JsonStruct(const std::string& line) {
  return FromJson<google::protobuf::Struct>(line);
}

std::string StructString(const google::protobuf::Struct& s, const std::string& field) {
  auto it = s.fields().find(field);
  if (it == s.fields().end()) return "";
  return it->second.string_value();
}

void ExpectFailure(const CtlResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << "stdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("coordctl: ", 0), 0u) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

}  // namespace coord::test
