#include "env.h"

#include <atomic>
#include <thread>

namespace coord::test {

Ensemble* g_client_ensemble = nullptr;

namespace {

class ClientEnsembleEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_client_ensemble = new Ensemble(3, 30);
    ASSERT_TRUE(g_client_ensemble->StartAll().ok());
    ASSERT_TRUE(g_client_ensemble->WaitStableLeader(20s).ok());
  }
  void TearDown() override {
    delete g_client_ensemble;
    g_client_ensemble = nullptr;
  }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ClientEnsembleEnvironment);

}  // namespace

std::string Endpoints() {
  std::string out;
  for (int i = 0; i < 3; ++i) {
    if (!out.empty()) out += ",";
    out += g_client_ensemble->member(i).client_address;
  }
  return out;
}

std::unique_ptr<Client> NewClient(const std::string& endpoints) {
  ClientOptions o;
  o.endpoints = endpoints.empty() ? Endpoints() : endpoints;
  auto c = Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::string Fresh(const std::string& base) {
  static std::atomic<int> next{1};
  return base + "-" + std::to_string(next.fetch_add(1));
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    // Polling a condition with a deadline (not a sleep standing in for one).
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

void EnsureRunning(int i) {
  if (!g_client_ensemble->Running(i)) {
    ASSERT_TRUE(g_client_ensemble->Start(i).ok());
  }
  ASSERT_TRUE(g_client_ensemble->WaitStableLeader(20s).ok());
}

}  // namespace coord::test
