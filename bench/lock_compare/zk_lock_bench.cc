// zk_lock_bench: the ZooKeeper side of the lock comparison (docs/benchmarks.md,
// "lock"). Closed-loop clients contend on ONE lock with ZooKeeper's standard lock
// recipe through the official C client (multi-threaded API) and print one JSON
// line in the shape of `coord-bench lock`, plus the per-client spread.
//
// Per client: one ZooKeeper session (one connection, to endpoints[i % n] only, as
// coord-bench spreads its clients), then cycles until the window closes:
//   acquire: create LOCK/lock- (ephemeral, sequential); loop { list LOCK's
//            children; if ours has the lowest sequence, held; else set an exists
//            watch on the next lower one and wait for its deletion (or, if it is
//            already gone, list again) }
//   release: delete our node.
// The latency of a cycle is from the create's start to the delete's reply; only
// cycles that start and finish inside the window count; a failed cycle (error or
// --timeout-ms) counts as an error and deletes its node if it made one.
//
// --workload write (the ZooKeeper side of the write comparison, docs/
// benchmarks.md, "write"): no lock; each cycle is ONE zoo_create of a new
// PERSISTENT node RUN/<client>/<n> holding a fixed value of --value-size random
// lowercase bytes (256, as `coord-bench write`), timed from the call to its
// reply. Create, not setData: `coord-bench write` puts a new distinct key per
// operation, and in ZooKeeper a new key is a new znode (setData needs the node
// to exist, i.e. it is the same-key case). Both are one quorum-committed,
// fsynced transaction. The parents (RUN and RUN/<client>) are created before the
// window and nothing is deleted afterwards (the ensemble is thrown away).
#include <signal.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "compare_report.h"

namespace coord::bench {
namespace {

constexpr char kUsageText[] =
    "usage: zk_lock_bench [--endpoints H:P,...] [--clients N] [--warmup S] [--duration S]\n"
    "                     [--session-timeout-ms MS] [--timeout-ms MS]\n"
    "                     [--workload lock|write] [--value-size B]\n";

struct Flags {
  std::vector<std::string> endpoints{"127.0.0.1:2181"};
  int clients = 1;
  double warmup_s = 1.0;
  double duration_s = 5.0;
  int session_timeout_ms = 10'000;  // as coord-bench's lock sessions (ttl 10 s)
  int timeout_ms = 5'000;           // one cycle's deadline
  bool write = false;               // --workload write: one create per cycle
  int value_size = 256;             // write: bytes per value, as coord-bench
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h" || i + 1 >= argc) return false;
    const std::string value = argv[++i];
    char* end = nullptr;
    if (flag == "--endpoints") {
      flags->endpoints.clear();
      size_t from = 0;
      while (from <= value.size()) {
        const size_t comma = std::min(value.find(',', from), value.size());
        if (comma > from) flags->endpoints.push_back(value.substr(from, comma - from));
        from = comma + 1;
      }
      if (flags->endpoints.empty()) return false;
      continue;
    }
    if (flag == "--workload") {
      if (value != "lock" && value != "write") return false;
      flags->write = value == "write";
      continue;
    }
    const double number = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0') return false;
    if (flag == "--clients") {
      flags->clients = static_cast<int>(number);
    } else if (flag == "--warmup") {
      flags->warmup_s = number;
    } else if (flag == "--duration") {
      flags->duration_s = number;
    } else if (flag == "--session-timeout-ms") {
      flags->session_timeout_ms = static_cast<int>(number);
    } else if (flag == "--timeout-ms") {
      flags->timeout_ms = static_cast<int>(number);
    } else if (flag == "--value-size") {
      flags->value_size = static_cast<int>(number);
    } else {
      return false;
    }
  }
  return flags->clients >= 1 && flags->warmup_s >= 0 && flags->duration_s > 0 &&
         flags->timeout_ms > 0 && flags->value_size >= 0;
}

using Clock = std::chrono::steady_clock;

// One client: its session and the watch signal of its current wait.
// Watcher callbacks run on the handle's completion thread; the client's own
// thread makes the synchronous calls and waits on `cv`.
struct ZkClient {
  zhandle_t* zh = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int session_state = 0;     // guarded by mu: the last session state seen
  uint64_t watch_fires = 0;  // guarded by mu: watch events seen so far
  std::vector<OpRecord> records;
};

void SessionWatcher(zhandle_t*, int type, int state, const char*, void* context) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* client = static_cast<ZkClient*>(context);
  std::lock_guard lock(client->mu);
  client->session_state = state;
  client->cv.notify_all();
}

void PredecessorWatcher(zhandle_t*, int, int, const char*, void* context) {
  // Any event on the predecessor (deleted, or the session's state changed) makes
  // the waiter list the children again, which is always safe.
  auto* client = static_cast<ZkClient*>(context);
  std::lock_guard lock(client->mu);
  ++client->watch_fires;
  client->cv.notify_all();
}

// The lowest-sequence rule of the recipe. All children are "lock-" + 10 digits,
// so names sort as their sequence numbers. Returns "" when `mine` holds the lock,
// otherwise the name of the child just before it (or "?" if `mine` is missing).
std::string Predecessor(std::vector<std::string> children, const std::string& mine) {
  std::sort(children.begin(), children.end());
  const auto it = std::find(children.begin(), children.end(), mine);
  if (it == children.end()) return "?";
  if (it == children.begin()) return "";
  return *(it - 1);
}

// One acquire + release within `deadline`. True on success.
bool Cycle(ZkClient& client, const std::string& dir, Clock::time_point deadline) {
  char created[512];
  const std::string prefix = dir + "/lock-";
  if (zoo_create(client.zh, prefix.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE,
                 ZOO_EPHEMERAL_SEQUENTIAL, created, sizeof created) != ZOK) {
    return false;
  }
  const std::string node = created;
  const std::string mine = node.substr(dir.size() + 1);
  bool held = false;
  while (Clock::now() < deadline) {
    String_vector children{};
    if (zoo_get_children(client.zh, dir.c_str(), 0, &children) != ZOK) break;
    std::vector<std::string> names(children.data, children.data + children.count);
    deallocate_String_vector(&children);
    const std::string predecessor = Predecessor(std::move(names), mine);
    if (predecessor.empty()) {
      held = true;
      break;
    }
    if (predecessor == "?") break;
    uint64_t fires_before;
    {
      std::lock_guard lock(client.mu);
      fires_before = client.watch_fires;
    }
    Stat stat{};
    const std::string path = dir + "/" + predecessor;
    const int rc = zoo_wexists(client.zh, path.c_str(), PredecessorWatcher, &client, &stat);
    if (rc == ZNONODE) continue;  // gone already: list again
    if (rc != ZOK) break;
    std::unique_lock lock(client.mu);
    client.cv.wait_until(lock, deadline, [&] { return client.watch_fires != fires_before; });
  }
  // Release (or, after a failure, withdraw): delete our node either way.
  const bool deleted = zoo_delete(client.zh, node.c_str(), -1) == ZOK;
  return held && deleted;
}

// The write workload's cycle: one persistent node, new per cycle, with `value`.
// The synchronous mt call has no deadline of its own; a reply later than the
// session timeout comes back as an error (ZOPERATIONTIMEOUT / ZCONNECTIONLOSS).
bool WriteCycle(ZkClient& client, const std::string& path, const std::string& value) {
  return zoo_create(client.zh, path.c_str(), value.data(), static_cast<int>(value.size()),
                    &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0) == ZOK;
}

int Main(const Flags& flags) {
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  std::vector<std::unique_ptr<ZkClient>> clients;
  const auto connect_deadline = Clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < flags.clients; ++i) {
    auto client = std::make_unique<ZkClient>();
    const std::string& host = flags.endpoints[i % flags.endpoints.size()];
    client->zh = zookeeper_init(host.c_str(), SessionWatcher, flags.session_timeout_ms, nullptr,
                                client.get(), 0);
    if (client->zh == nullptr) {
      std::fprintf(stderr, "zk_lock_bench: zookeeper_init %s: %s\n", host.c_str(),
                   std::strerror(errno));
      return 1;
    }
    clients.push_back(std::move(client));
  }
  for (auto& client : clients) {
    std::unique_lock lock(client->mu);
    if (!client->cv.wait_until(lock, connect_deadline,
                               [&] { return client->session_state == ZOO_CONNECTED_STATE; })) {
      std::fprintf(stderr, "zk_lock_bench: a client did not connect within 10 s\n");
      return 1;
    }
  }
  // One lock (a persistent parent node) per run, shared by every client; for the
  // write workload the run's parent, plus one parent per client.
  const std::string dir = std::string(flags.write ? "/bench-write-" : "/bench-lock-") +
                          std::to_string(getpid()) + "-" +
                          std::to_string(Clock::now().time_since_epoch().count());
  for (int i = -1; i < (flags.write ? flags.clients : 0); ++i) {
    const std::string path = i < 0 ? dir : dir + "/" + std::to_string(i);
    if (const int rc = zoo_create(clients[0]->zh, path.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE,
                                  0, nullptr, 0);
        rc != ZOK) {
      std::fprintf(stderr, "zk_lock_bench: create %s: %s\n", path.c_str(), zerror(rc));
      return 1;
    }
  }
  std::string value(static_cast<size_t>(flags.value_size), 'a');
  std::mt19937_64 rng(std::random_device{}());
  for (char& c : value) c = static_cast<char>('a' + rng() % 26);

  const Clock::time_point epoch = Clock::now();
  const auto to_ns = [epoch](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch).count();
  };
  const int64_t begin_ns = static_cast<int64_t>(flags.warmup_s * 1e9);
  const int64_t end_ns = begin_ns + static_cast<int64_t>(flags.duration_s * 1e9);
  const Clock::time_point end = epoch + std::chrono::nanoseconds(end_ns);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients.size(); ++i) {
    threads.emplace_back([&, i, c = clients[i].get()] {
      const std::string parent = dir + "/" + std::to_string(i) + "/";
      for (int64_t n = 0; Clock::now() < end; ++n) {
        const Clock::time_point start = Clock::now();
        const bool ok =
            flags.write ? WriteCycle(*c, parent + std::to_string(n), value)
                        : Cycle(*c, dir, start + std::chrono::milliseconds(flags.timeout_ms));
        c->records.push_back(OpRecord{to_ns(start), to_ns(Clock::now()), ok});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (!flags.write) zoo_delete(clients[0]->zh, dir.c_str(), -1);  // best effort: the lock's parent
  for (auto& client : clients) zookeeper_close(client->zh);

  std::vector<std::vector<OpRecord>> per_client;
  for (auto& client : clients) per_client.push_back(std::move(client->records));
  const RunReport report = BuildReport(flags.write ? "write" : "lock", flags.clients,
                                       Merge(per_client), begin_ns, end_ns);
  std::printf(
      "%s\n",
      FormatCompareJson(report, "zookeeper", SpreadOf(per_client, begin_ns, end_ns)).c_str());
  return 0;
}

}  // namespace
}  // namespace coord::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  coord::bench::Flags flags;
  if (!coord::bench::ParseFlags(argc, argv, &flags)) {
    std::fputs(coord::bench::kUsageText, stderr);
    return 2;
  }
  return coord::bench::Main(flags);
}
