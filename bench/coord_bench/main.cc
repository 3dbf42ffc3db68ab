// coord-bench: the service benchmark of Coord. See `coord-bench --help` and
// docs/benchmarks.md ("Service (coord-bench)").
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "options.h"
#include "probe.h"
#include "report.h"
#include "runner.h"
#include "workload.h"

namespace coord::bench {
namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);
// fill gives up when no put succeeded for this long (every member gone).
constexpr int64_t kFillStallNs = 30'000'000'000;
constexpr int kPreloadClients = 16;
// lock: each client's session; kept alive every ttl/3, so it outlives slow cycles.
constexpr int64_t kLockSessionTtlMs = 10'000;
// sessions: the longest TTL the state allows, so none expires during a measurement.
constexpr int64_t kIdleSessionTtlMs = 3'600'000;

int64_t SecondsToNs(double s) { return static_cast<int64_t>(s * 1e9); }

Result<std::vector<boost::asio::ip::tcp::endpoint>> Resolve(
    const std::vector<std::string>& endpoints) {
  std::vector<boost::asio::ip::tcp::endpoint> out;
  for (const std::string& e : endpoints) {
    COORD_RETURN_IF_ERROR(ValidateEndpoint(e));
    const size_t colon = e.rfind(':');
    out.emplace_back(boost::asio::ip::make_address(e.substr(0, colon)),
                     static_cast<uint16_t>(std::stoi(e.substr(colon + 1))));
  }
  return out;
}

RunConfig MakeConfig(const Options& o, const std::vector<boost::asio::ip::tcp::endpoint>& eps,
                     int clients, uint64_t seed) {
  RunConfig c;
  c.endpoints = eps;
  c.clients = clients;
  c.io_threads = std::min(o.io_threads, clients);
  c.timeout_ms = static_cast<uint32_t>(o.timeout_ms);
  c.seed = seed;
  return c;
}

// Runs `workload` until it has nothing left (fill, preload). On success returns
// the records and sets [*begin_ns, *end_ns] to the span from the start to the last reply.
Result<std::vector<OpRecord>> RunToCompletion(const RunConfig& config, FillWorkload* workload,
                                              int64_t* begin_ns, int64_t* end_ns) {
  Runner runner(config, workload);
  COORD_RETURN_IF_ERROR(runner.Start(kConnectTimeout));
  *begin_ns = 0;  // the epoch: connecting is part of loading
  int64_t last_progress = runner.Now();
  int64_t last_count = workload->succeeded();
  while (!runner.WaitFinished(runner.Now() + 1'000'000'000)) {
    const int64_t count = workload->succeeded();
    if (count != last_count) {
      last_count = count;
      last_progress = runner.Now();
    } else if (runner.Now() - last_progress > kFillStallNs) {
      return Status::Unavailable("no request succeeded for 30 s (" + std::to_string(count) +
                                 " done)");
    }
  }
  std::vector<OpRecord> records = runner.Collect();
  *end_ns = 0;
  for (const OpRecord& r : records) *end_ns = std::max(*end_ns, r.finish_ns);
  if (!workload->Finished()) return Status::Unavailable("fill did not complete");
  return records;
}

// Runs a timed workload: warmup, then the measured window. `at_begin` runs on
// this thread when the window opens and returns the time to report as the kill.
struct TimedResult {
  std::vector<OpRecord> records;
  int64_t begin_ns = 0;
  int64_t end_ns = 0;
  int64_t mark_ns = 0;
};

Result<TimedResult> RunTimed(const Options& o, const RunConfig& config, Workload* workload,
                             const std::function<Result<int64_t>(Runner&)>& at_begin) {
  Runner runner(config, workload);
  COORD_RETURN_IF_ERROR(runner.Start(kConnectTimeout));
  TimedResult r;
  r.begin_ns = runner.Now() + SecondsToNs(o.warmup_s);
  r.end_ns = r.begin_ns + SecondsToNs(o.duration_s);
  runner.SetStop(r.end_ns);
  if (at_begin) {
    // Scheduling the kill at the window's start (the program's own timetable).
    std::this_thread::sleep_for(std::chrono::nanoseconds(r.begin_ns - runner.Now()));
    auto mark = at_begin(runner);
    if (!mark.ok()) return mark.status();
    r.mark_ns = *mark;
  }
  // Clients stop by themselves at end_ns; a reply can take up to the timeout.
  runner.WaitFinished(r.end_ns + int64_t{o.timeout_ms + 3000} * 1'000'000);
  r.records = runner.Collect();
  if (runner.connect_failures() > 0) {
    std::fprintf(stderr, "coord-bench: %lld failed connection attempts\n",
                 static_cast<long long>(runner.connect_failures()));
  }
  return r;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "coord-bench: %s\n", s.message().c_str());
  return 1;
}

int Main(const Options& o) {
  std::random_device rd;
  const uint64_t seed = (uint64_t{rd()} << 32) ^ rd();
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(seed));
  const std::string value = MakeValue(o.value_size, seed);

  if (o.mode == Mode::kLeader) {
    auto leader = FindLeader(o.endpoints, o.timeout_ms);
    if (!leader.ok()) return Fail(leader.status());
    std::printf("%s\n", leader->c_str());
    return 0;
  }

  std::vector<std::string> endpoints = o.endpoints;
  if (o.mode == Mode::kFailover) {
    std::erase(endpoints, o.kill_endpoint);
  }
  auto eps = Resolve(endpoints);
  if (!eps.ok()) return Fail(eps.status());
  const RunConfig config = MakeConfig(o, *eps, o.clients, seed);

  if (o.mode == Mode::kFill || o.mode == Mode::kSessions) {
    const bool sessions = o.mode == Mode::kSessions;
    FillWorkload fill("/bench/fill/" + std::string(tag), o.count, value,
                      sessions ? kIdleSessionTtlMs : 0);
    int64_t begin = 0;
    int64_t end = 0;
    auto records = RunToCompletion(config, &fill, &begin, &end);
    if (!records.ok()) return Fail(records.status());
    std::printf("%s\n", FormatJson(BuildReport(sessions ? "sessions" : "fill", o.clients,
                                                *records, begin, end))
                             .c_str());
    return 0;
  }

  std::unique_ptr<Workload> workload;
  std::string name;
  if (o.mode == Mode::kRead) {
    const std::string prefix = "/bench/read";
    FillWorkload preload(prefix, o.read_keys, value);
    int64_t begin = 0;
    int64_t end = 0;
    auto loaded =
        RunToCompletion(MakeConfig(o, *eps, kPreloadClients, seed ^ 1), &preload, &begin, &end);
    if (!loaded.ok()) return Fail(Status::Unavailable("preload: " + loaded.status().message()));
    workload = std::make_unique<ReadWorkload>(prefix, o.read_keys, o.serializable);
    name = o.serializable ? "read-serializable" : "read";
  } else if (o.mode == Mode::kLock) {
    // One lock name per run, shared by every client; waits end at the request timeout.
    workload = std::make_unique<LockWorkload>("/bench/lock/" + std::string(tag), kLockSessionTtlMs,
                                              o.timeout_ms);
    name = "lock";
  } else {
    workload = std::make_unique<WriteWorkload>("/bench/write/" + std::string(tag), value);
    name = o.mode == Mode::kFailover ? "failover" : "write";
  }

  std::function<Result<int64_t>(Runner&)> at_begin;
  if (o.mode == Mode::kFailover) {
    at_begin = [&o](Runner& runner) -> Result<int64_t> {
      if (kill(o.kill_pid, SIGKILL) != 0) {
        return Status::InvalidArgument("cannot kill pid " + std::to_string(o.kill_pid) + ": " +
                                       std::strerror(errno));
      }
      return runner.Now();
    };
  }
  auto result = RunTimed(o, config, workload.get(), at_begin);
  if (!result.ok()) return Fail(result.status());
  RunReport report =
      BuildReport(name, o.clients, result->records, result->begin_ns, result->end_ns);
  if (o.mode == Mode::kFailover) {
    report.unavailable_ms = UnavailableMs(result->records, result->mark_ns);
  }
  std::printf("%s\n", FormatJson(report).c_str());
  return 0;
}

}  // namespace
}  // namespace coord::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  auto options = coord::bench::ParseOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (!options.ok()) {
    std::fprintf(stderr, "coord-bench: %s\n", options.status().message().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(coord::bench::kUsage, stdout);
    return 0;
  }
  return coord::bench::Main(*options);
}
