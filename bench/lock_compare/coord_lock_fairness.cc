// coord_lock_fairness: `coord-bench lock` (the same LockWorkload, Runner and
// report) that also counts each client's cycles, so the lock comparison can
// report FIFO fairness under contention for Coord as for etcd and ZooKeeper.
//
//   coord_lock_fairness --endpoints H:P,... --clients N --warmup S --duration S
//
// Prints coord-bench's JSON line with "client_ops_min" and "client_ops_max"
// appended. A cycle counts for its client under coord-bench's window rule.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "compare_report.h"
#include "options.h"
#include "runner.h"
#include "workload.h"

namespace coord::bench {
namespace {

constexpr int64_t kLockSessionTtlMs = 10'000;  // as coord-bench

// Forwards to LockWorkload and records each client's timed cycles: start = the
// acquire's send (the timed Next), finish = the release's OK reply.
class CountingLockWorkload final : public Workload {
 public:
  CountingLockWorkload(LockWorkload* inner, int clients) : inner_(inner), per_client_(clients) {}
  void set_runner(const Runner* runner) { runner_ = runner; }
  std::vector<std::vector<OpRecord>>& per_client() { return per_client_; }

  bool Next(ClientContext& client, coord::v1::Request* request) override {
    const bool more = inner_->Next(client, request);
    if (!client.untimed && client.phase == LockWorkload::kAcquiring) {
      starts_[client.index] = client.now_ns;
    }
    return more;
  }
  void Done(ClientContext& client, bool ok) override { inner_->Done(client, ok); }
  Step OnReply(ClientContext& client, const coord::v1::Response& response) override {
    const int phase = client.phase;
    return Record(client, phase, inner_->OnReply(client, response));
  }
  Step OnPush(ClientContext& client, const coord::v1::ServerMessage& message) override {
    const int phase = client.phase;
    return Record(client, phase, inner_->OnPush(client, message));
  }

 private:
  Step Record(const ClientContext& client, int phase_before, Step step) {
    const bool cycle_end =
        phase_before == LockWorkload::kReleasing || phase_before == LockWorkload::kAcquiring;
    if (cycle_end && (step == Step::kOk || step == Step::kFailed)) {
      per_client_[client.index].push_back(
          OpRecord{starts_[client.index], runner_->Now(), step == Step::kOk});
    }
    return step;
  }

  LockWorkload* const inner_;
  const Runner* runner_ = nullptr;
  // Indexed by ClientContext::index; each entry touched only by its client's
  // io thread, read after Runner::Collect().
  std::vector<std::vector<OpRecord>> per_client_;
  std::vector<int64_t> starts_ = std::vector<int64_t>(per_client_.size(), 0);
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "coord_lock_fairness: %s\n", message.c_str());
  return 1;
}

int Main(const Options& o) {
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
  for (const std::string& e : o.endpoints) {
    const size_t colon = e.rfind(':');
    endpoints.emplace_back(boost::asio::ip::make_address(e.substr(0, colon)),
                           static_cast<uint16_t>(std::stoi(e.substr(colon + 1))));
  }
  std::random_device rd;
  const uint64_t seed = (uint64_t{rd()} << 32) ^ rd();
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(seed));
  LockWorkload lock("/bench/lock/" + std::string(tag), kLockSessionTtlMs, o.timeout_ms);
  CountingLockWorkload counting(&lock, o.clients);

  RunConfig config;
  config.endpoints = endpoints;
  config.clients = o.clients;
  config.io_threads = std::min(o.io_threads, o.clients);
  config.timeout_ms = static_cast<uint32_t>(o.timeout_ms);
  config.seed = seed;
  Runner runner(config, &counting);
  counting.set_runner(&runner);
  if (Status s = runner.Start(std::chrono::seconds(10)); !s.ok()) return Fail(s.message());
  const int64_t begin_ns = runner.Now() + static_cast<int64_t>(o.warmup_s * 1e9);
  const int64_t end_ns = begin_ns + static_cast<int64_t>(o.duration_s * 1e9);
  runner.SetStop(end_ns);
  runner.WaitFinished(end_ns + int64_t{o.timeout_ms + 3000} * 1'000'000);
  const std::vector<OpRecord> records = runner.Collect();
  const RunReport report = BuildReport("lock", o.clients, records, begin_ns, end_ns);
  std::printf("%s\n",
              FormatCompareJson(report, "coord", SpreadOf(counting.per_client(), begin_ns, end_ns))
                  .c_str());
  return 0;
}

}  // namespace
}  // namespace coord::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  // coord-bench's own flag parser, in lock mode.
  std::vector<std::string> args{"lock"};
  args.insert(args.end(), argv + 1, argv + argc);
  auto options = coord::bench::ParseOptions(args);
  if (!options.ok() || options->help) {
    std::fprintf(stderr,
                 "usage: coord_lock_fairness --endpoints H:P,... --clients N --warmup S "
                 "--duration S%s%s\n",
                 options.ok() ? "" : "\n", options.ok() ? "" : options.status().message().c_str());
    return 2;
  }
  return coord::bench::Main(*options);
}
