// raft_durable_bench: durable Raft throughput and commit latency with group commit.
//
// Three members on loopback (127.0.0.1/.2/.3, free ports) with LevelDbStorage
// (fsync on every Save) in a temporary directory. For each concurrency level,
// that many closed-loop proposers each propose a 64-byte value to the leader,
// wait for its callback, and propose again. After a warm-up, the measured window
// reports proposals/s, p50/p99 commit latency, and the leader's fsyncs per second
// (Save calls). The raw fdatasync rate of the same disk (4 KiB append + fdatasync,
// repeated, by one writer and by three at once) is measured first, so the results
// can be read against the physical limit: without group commit a member cannot
// exceed about one commit per fsync.
//
//   raft_durable_bench [--levels 1,16,128] [--warmup-ms 1000] [--measure-ms 4000]
//                      [--dir DIR] [--unsynced-commit-updates]
// --unsynced-commit-updates sets NodeOptions::sync_commit_updates = false (a
// commit-only Ready is saved without fsync; see node.h).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/consensus/leveldb_storage.h"
#include "coord/consensus/node.h"
#include "coord/consensus/tcp_transport.h"

namespace {

using namespace coord::raft;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

class NullStateMachine : public StateMachine {
 public:
  coord::Result<std::any> Apply(Index, const std::string&) override { return std::any(); }
  std::string Snapshot() override { return {}; }
  coord::Status Restore(const std::string&) override { return coord::Status::Ok(); }
};

uint16_t FreePort(const std::string& host) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io);
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host), 0);
  acceptor.open(ep.protocol());
  acceptor.bind(ep);
  return acceptor.local_endpoint().port();
}

// 4 KiB append + fdatasync, repeated for `duration`, by `writers` threads at once,
// each on its own file in `dir`. Returns the mean rate per writer.
//
// Both figures matter on this kind of machine: on a VM a lone syncing thread often
// pays the vCPU's wake-up latency on every flush, while with several threads busy
// (three members syncing at once, as in the cluster) each flush returns sooner.
double MeasureFsyncRate(const std::string& dir, std::chrono::milliseconds duration, int writers,
                        double* mean_ms) {
  std::vector<uint64_t> counts(writers, 0);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      const std::string path = (fs::path(dir) / ("fsync-probe-" + std::to_string(w))).string();
      // Appends, like a write-ahead log (LevelDB's log file grows the same way).
      const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_APPEND, 0600);
      if (fd < 0) return;
      const std::string block(4096, 'x');
      while (Clock::now() - start < duration) {
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
            ::fdatasync(fd) != 0) {
          break;
        }
        ++counts[w];
      }
      ::close(fd);
      ::unlink(path.c_str());
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  const double per_writer = total / secs / writers;
  *mean_ms = per_writer > 0 ? 1000.0 / per_writer : 0;
  return per_writer;
}

// Closed-loop proposers against whichever member leads.
class Load {
 public:
  explicit Load(std::vector<Node*> nodes) : nodes_(std::move(nodes)) {}

  Node* Leader() {
    for (Node* n : nodes_) {
      if (n->GetStatus().raft.role == Role::kLeader) return n;
    }
    return nullptr;
  }

  struct Figures {
    uint64_t ok = 0;
    uint64_t errors = 0;
    std::vector<double> latencies_ms;
  };

  void Run(int concurrency, std::chrono::milliseconds warmup, std::chrono::milliseconds measure,
           Figures* out, uint64_t* leader_saves) {
    running_ = true;
    measuring_ = false;
    figures_ = Figures{};
    leader_ = Leader();
    inflight_ = concurrency;
    for (int i = 0; i < concurrency; ++i) Issue();
    std::this_thread::sleep_for(warmup);  // the benchmark's own clock, not a sync wait
    // Fsyncs are counted on the member leading when the window opens (if the
    // leadership moves meanwhile the figure is partial; errors are reported).
    Node* counted = leader_.load();
    const uint64_t saves_before = counted ? counted->GetStatus().synced_saves : 0;
    measuring_ = true;
    std::this_thread::sleep_for(measure);
    measuring_ = false;
    *leader_saves = counted ? counted->GetStatus().synced_saves - saves_before : 0;
    {
      std::lock_guard lock(mu_);
      *out = figures_;
    }
    running_ = false;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return inflight_ == 0; });
  }

 private:
  void Issue() {
    Node* leader = leader_.load();
    if (!running_ || leader == nullptr) {
      std::lock_guard lock(mu_);
      if (--inflight_ == 0) cv_.notify_all();
      return;
    }
    const auto t0 = Clock::now();
    leader->Propose(std::string(64, 'v'), [this, t0](ProposeResult r) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      {
        std::lock_guard lock(mu_);
        if (r.status.ok() && measuring_) {
          ++figures_.ok;
          figures_.latencies_ms.push_back(ms);
        } else if (!r.status.ok()) {
          ++figures_.errors;
        }
      }
      if (!r.status.ok()) leader_ = Leader();  // leadership moved; follow it
      Issue();
    });
  }

  std::vector<Node*> nodes_;
  std::atomic<Node*> leader_{nullptr};
  std::atomic<bool> running_{false};
  std::atomic<bool> measuring_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;  // guarded by mu_
  Figures figures_;   // guarded by mu_
};

double Percentile(std::vector<double>* v, double p) {
  if (v->empty()) return 0;
  const size_t k = std::min(v->size() - 1, static_cast<size_t>(p * v->size()));
  std::nth_element(v->begin(), v->begin() + k, v->end());
  return (*v)[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> levels = {1, 16, 128};
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds measure{4000};
  std::string base = fs::temp_directory_path().string();
  bool sync_commit_updates = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--levels" && v) {
      levels.clear();
      for (const char* p = v; *p;) {
        levels.push_back(std::max(1, std::atoi(p)));
        while (*p && *p != ',') ++p;
        if (*p == ',') ++p;
      }
      ++i;
    } else if (a == "--warmup-ms" && v) {
      warmup = std::chrono::milliseconds(std::atol(v));
      ++i;
    } else if (a == "--measure-ms" && v) {
      measure = std::chrono::milliseconds(std::max(100L, std::atol(v)));
      ++i;
    } else if (a == "--unsynced-commit-updates") {
      sync_commit_updates = false;
    } else if (a == "--dir" && v) {
      base = v;
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: raft_durable_bench [--levels 1,16,128] [--warmup-ms MS] "
                   "[--measure-ms MS] [--dir DIR] [--unsynced-commit-updates]\n");
      return a == "--help" ? 0 : 1;
    }
  }
  spdlog::set_level(spdlog::level::warn);

  std::string root = (fs::path(base) / "coord-durable-bench-XXXXXX").string();
  if (mkdtemp(root.data()) == nullptr) {
    std::fprintf(stderr, "raft_durable_bench: cannot create a directory under %s\n",
                 base.c_str());
    return 1;
  }

  double one_ms = 0;
  double three_ms = 0;
  const double one_rate = MeasureFsyncRate(root, std::chrono::milliseconds(1500), 1, &one_ms);
  const double fsync_rate = MeasureFsyncRate(root, std::chrono::milliseconds(1500), 3, &three_ms);
  std::printf("disk (%s), 4 KiB append + fdatasync: 1 writer %.0f/s (%.2f ms); "
              "3 concurrent writers %.0f/s each (%.2f ms)\n",
              root.c_str(), one_rate, one_ms, fsync_rate, three_ms);
  std::printf("'vs disk' = proposals/s divided by the 3-writer per-file fsync rate, the limit "
              "of one commit per fsync per member\n");

  std::map<NodeId, std::string> addresses;
  for (NodeId id : {1, 2, 3}) {
    const std::string host = "127.0.0." + std::to_string(id);
    addresses[id] = host + ":" + std::to_string(FreePort(host));
  }
  std::vector<std::unique_ptr<NullStateMachine>> sms;
  std::vector<std::unique_ptr<Node>> nodes;
  for (const auto& [id, address] : addresses) {
    LevelDbStorageOptions so;
    so.dir = (fs::path(root) / std::to_string(id)).string();
    auto storage = LevelDbStorage::Open(so);
    if (!storage.ok()) {
      std::fprintf(stderr, "storage: %s\n", storage.status().ToString().c_str());
      return 1;
    }
    TcpTransportOptions to;
    to.self_id = id;
    to.listen_address = address;
    NodeOptions options;
    options.raft.id = id;
    options.raft.peers = {1, 2, 3};
    options.peer_addresses = addresses;
    options.tick_interval = std::chrono::milliseconds(50);
    options.default_timeout = std::chrono::milliseconds(10000);
    options.sync_commit_updates = sync_commit_updates;
    sms.push_back(std::make_unique<NullStateMachine>());
    auto node = Node::Create(options, std::move(*storage), std::make_unique<TcpTransport>(to),
                             sms.back().get());
    if (!node.ok() || !(*node)->Start().ok()) {
      std::fprintf(stderr, "node %llu failed to start\n", static_cast<unsigned long long>(id));
      return 1;
    }
    nodes.push_back(std::move(*node));
  }
  std::vector<Node*> raw;
  for (auto& n : nodes) raw.push_back(n.get());
  Load load(raw);
  const auto elect_deadline = Clock::now() + std::chrono::seconds(10);
  while (load.Leader() == nullptr && Clock::now() < elect_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll for a leader
  }
  if (load.Leader() == nullptr) {
    std::fprintf(stderr, "no leader elected within 10 s\n");
    return 1;
  }
  std::printf("3 members on 127.0.0.1-3, LevelDB sync=true (commit-only updates %s), 64-byte "
              "values, warm-up %lld ms, measured %lld ms per level\n",
              sync_commit_updates ? "synced" : "unsynced", static_cast<long long>(warmup.count()),
              static_cast<long long>(measure.count()));
  std::printf("%11s %12s %10s %10s %13s %14s %10s\n", "concurrency", "proposals/s", "p50 ms",
              "p99 ms", "leader fsync/s", "props/fsync", "vs disk");
  for (int level : levels) {
    Load::Figures f;
    uint64_t saves = 0;
    load.Run(level, warmup, measure, &f, &saves);
    const double secs = std::chrono::duration<double>(measure).count();
    const double rate = f.ok / secs;
    const double p50 = Percentile(&f.latencies_ms, 0.50);
    const double p99 = Percentile(&f.latencies_ms, 0.99);
    std::printf("%11d %12.0f %10.2f %10.2f %13.0f %14.1f %9.2fx", level, rate, p50, p99,
                saves / secs, saves ? static_cast<double>(f.ok) / saves : 0.0,
                fsync_rate > 0 ? rate / fsync_rate : 0.0);
    if (f.errors) std::printf("  (%llu errors)", static_cast<unsigned long long>(f.errors));
    std::printf("\n");
    std::fflush(stdout);
  }
  for (auto& n : nodes) n->Stop();
  nodes.clear();
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
