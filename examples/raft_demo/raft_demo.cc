// raft-demo: runs a Raft ensemble and shows it working.
//
// With no arguments: three members in this process on 127.0.0.1:7421,
// 127.0.0.2:7421 and 127.0.0.3:7421, data under ./coord-data/raft-demo/<id>. Once a
// second the leader is asked to commit the next counter value and one line shows
// every member's view. Ctrl-C (SIGINT) or SIGTERM shuts down cleanly; running
// it again continues from the data on disk.
//
// With --id N --peers 1=H:P,2=H:P,3=H:P --data-dir DIR it runs only member N, so
// members can live in separate processes (start each in its own terminal).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coord/consensus/leveldb_storage.h"
#include "coord/consensus/node.h"
#include "coord/consensus/tcp_transport.h"

namespace {

using coord::Status;
using namespace coord::raft;

constexpr char kUsage[] =
    "usage: raft-demo [--id N --peers ID=HOST:PORT,... --data-dir DIR] [--tick-ms MS]\n"
    "                 [--seconds S] [--verbose]\n"
    "\n"
    "  (no arguments)   run members 1,2,3 in this process on 127.0.0.1:7421,\n"
    "                   127.0.0.2:7421, 127.0.0.3:7421; data in ./coord-data/raft-demo/<id>\n"
    "  --id N           run only member N (needs --peers; the member listens on its own\n"
    "                   entry of --peers)\n"
    "  --peers LIST     the whole ensemble, e.g. 1=127.0.0.1:7421,2=127.0.0.2:7421\n"
    "  --data-dir DIR   data directory of the members (default ./coord-data/raft-demo);\n"
    "                   member N keeps its state in DIR/N\n"
    "  --tick-ms MS     Raft tick interval (default 100; elections after 10-20 ticks)\n"
    "  --seconds S      stop after S seconds (default: run until SIGINT/SIGTERM)\n"
    "  --verbose        log Raft events at debug level\n"
    "  --help           show this text\n"
    "\n"
    "Every second the leader commits the next counter value; one line per second shows\n"
    "each member's role, term, commit and applied index and its counter.\n";

// The replicated application: the last counter value committed.
class Counter : public StateMachine {
 public:
  coord::Result<std::any> Apply(Index, const std::string& data) override {
    std::lock_guard lock(mu_);
    value_ = data;
    return std::any(data);
  }
  std::string Snapshot() override {
    std::lock_guard lock(mu_);
    return value_;
  }
  Status Restore(const std::string& image) override {
    std::lock_guard lock(mu_);
    value_ = image;
    return Status::Ok();
  }
  std::string value() const {
    std::lock_guard lock(mu_);
    return value_.empty() ? "-" : value_;
  }

 private:
  mutable std::mutex mu_;
  std::string value_;
};

struct Member {
  NodeId id = kNoNode;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Node> node;
};

struct Args {
  NodeId id = kNoNode;
  std::map<NodeId, std::string> peers;
  std::string data_dir = "coord-data/raft-demo";
  int tick_ms = 100;
  long seconds = 0;
  bool verbose = false;
};

bool ParsePeers(const std::string& list, std::map<NodeId, std::string>* peers) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    const std::string item = list.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) return false;
    char* end = nullptr;
    const unsigned long long id = std::strtoull(item.c_str(), &end, 10);
    if (end != item.c_str() + eq || id == 0) return false;
    (*peers)[id] = item.substr(eq + 1);
    pos = comma + 1;
  }
  return !peers->empty();
}

// Returns 0 to run, 1 for a usage error, 2 after --help.
int ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 2;
    } else if (a == "--verbose") {
      args->verbose = true;
    } else if (a == "--id" && (v = value())) {
      args->id = std::strtoull(v, nullptr, 10);
    } else if (a == "--peers" && (v = value())) {
      if (!ParsePeers(v, &args->peers)) {
        std::fprintf(stderr, "raft-demo: bad --peers '%s' (want ID=HOST:PORT,...)\n", v);
        return 1;
      }
    } else if (a == "--data-dir" && (v = value())) {
      args->data_dir = v;
    } else if (a == "--tick-ms" && (v = value())) {
      args->tick_ms = std::atoi(v);
    } else if (a == "--seconds" && (v = value())) {
      args->seconds = std::atol(v);
    } else {
      std::fprintf(stderr, "raft-demo: unknown or incomplete argument '%s'\n%s", a.c_str(), kUsage);
      return 1;
    }
  }
  if (args->peers.empty()) {
    if (args->id != kNoNode) {
      std::fprintf(stderr, "raft-demo: --id needs --peers\n");
      return 1;
    }
    for (NodeId id : {1, 2, 3}) args->peers[id] = "127.0.0." + std::to_string(id) + ":7421";
  }
  if (args->id != kNoNode && !args->peers.count(args->id)) {
    std::fprintf(stderr, "raft-demo: --id %llu is not in --peers\n",
                 static_cast<unsigned long long>(args->id));
    return 1;
  }
  if (args->tick_ms <= 0) {
    std::fprintf(stderr, "raft-demo: --tick-ms must be positive\n");
    return 1;
  }
  return 0;
}

coord::Result<Member> StartMember(const Args& args, NodeId id) {
  const std::string dir = (std::filesystem::path(args.data_dir) / std::to_string(id)).string();
  std::error_code ec;
  std::filesystem::create_directories(args.data_dir, ec);
  LevelDbStorageOptions storage_options;
  storage_options.dir = dir;
  auto storage = LevelDbStorage::Open(storage_options);
  if (!storage.ok()) return storage.status();

  TcpTransportOptions transport_options;
  transport_options.self_id = id;
  transport_options.listen_address = args.peers.at(id);
  auto transport = std::make_unique<TcpTransport>(transport_options);

  NodeOptions options;
  options.raft.id = id;
  for (const auto& [peer, address] : args.peers) options.raft.peers.push_back(peer);
  options.peer_addresses = args.peers;
  options.tick_interval = std::chrono::milliseconds(args.tick_ms);
  options.default_timeout = std::chrono::milliseconds(2000);
  options.snapshot_threshold = 1000;  // small, so snapshots show up in a demo run
  options.snapshot_keep_entries = 100;

  Member m;
  m.id = id;
  m.counter = std::make_unique<Counter>();
  auto node = Node::Create(options, std::move(*storage), std::move(transport), m.counter.get());
  if (!node.ok()) return node.status();
  m.node = std::move(*node);
  Status s = m.node->Start();
  if (!s.ok()) return s;
  return m;
}

std::string Describe(const Member& m) {
  const NodeStatus s = m.node->GetStatus();
  char line[160];
  std::snprintf(line, sizeof line, "[%llu %-9s term %llu commit %llu applied %llu counter %s]",
                static_cast<unsigned long long>(m.id), std::string(RoleName(s.raft.role)).c_str(),
                static_cast<unsigned long long>(s.raft.term),
                static_cast<unsigned long long>(s.raft.commit),
                static_cast<unsigned long long>(s.applied), m.counter->value().c_str());
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (int rc = ParseArgs(argc, argv, &args); rc != 0) return rc == 2 ? 0 : 1;
  spdlog::set_level(args.verbose ? spdlog::level::debug : spdlog::level::info);

  // Signals are taken synchronously by the main loop (sigtimedwait), so every
  // thread started below inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<Member> members;
  std::vector<NodeId> ids;
  if (args.id != kNoNode) {
    ids.push_back(args.id);
  } else {
    for (const auto& [id, address] : args.peers) ids.push_back(id);
  }
  for (NodeId id : ids) {
    auto m = StartMember(args, id);
    if (!m.ok()) {
      std::fprintf(stderr, "raft-demo: member %llu: %s\n", static_cast<unsigned long long>(id),
                   m.status().ToString().c_str());
      return 1;
    }
    members.push_back(std::move(*m));
  }

  std::atomic<uint64_t> next{0};
  const auto start = std::chrono::steady_clock::now();
  for (long second = 1;; ++second) {
    timespec one_second{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) {
      std::printf("raft-demo: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    // Ask a local leader (if any) to commit the next counter value; the counter
    // continues from the applied one after a restart.
    for (Member& m : members) {
      if (m.node->GetStatus().raft.role != Role::kLeader) continue;
      const std::string applied = m.counter->value();
      uint64_t base = applied == "-" ? 0 : std::strtoull(applied.c_str(), nullptr, 10);
      const uint64_t value = std::max(base, next.load()) + 1;
      next = value;
      m.node->Propose(std::to_string(value), [](ProposeResult r) {
        // kAborted: the demo is shutting down with this proposal in flight.
        if (!r.status.ok() && r.status.code() != coord::StatusCode::kAborted) {
          spdlog::warn("proposal failed: {}", r.status.ToString());
        }
      });
    }
    std::string line = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count()) +
                       "s leader " + std::to_string(members.front().node->GetStatus().leader);
    for (const Member& m : members) line += " " + Describe(m);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (args.seconds > 0 && second >= args.seconds) break;
  }
  for (Member& m : members) m.node->Stop();
  std::printf("raft-demo: stopped cleanly\n");
  return 0;
}
