// raft_core_bench: throughput of the Raft core alone (no disk, no network).
//
// A 3-member cluster of Raft cores over MemoryStorage runs in one thread. After
// electing member 1, the leader proposes 64-byte entries with ProposeBatch, and
// the bench runs each member's Ready loop (persist into MemoryStorage, deliver
// the messages directly, apply, Advance) until the cluster is quiet, then
// proposes the next batch. It reports entries committed and applied on the
// leader per second, measured over a few seconds after a warm-up, for several
// batch sizes. Each member compacts its log as it applies so memory stays flat.
//
//   raft_core_bench [seconds-per-config (default 3)] [batch sizes... (default 1 64 1024)]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "coord/consensus/memory_storage.h"
#include "coord/consensus/raft.h"

namespace {

using coord::raft::Config;
using coord::raft::Index;
using coord::raft::MemoryStorage;
using coord::raft::NodeId;
using coord::raft::PersistBatch;
using coord::raft::Raft;
using coord::raft::Ready;
using coord::raft::Role;
namespace pb = coord::raft::pb;

constexpr int kMembers = 3;
constexpr size_t kEntryBytes = 64;
constexpr uint64_t kCompactEvery = 20000;  // applied entries between compactions
constexpr uint64_t kKeepEntries = 4000;    // tail kept for followers

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "raft_core_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Member {
  NodeId id = 0;
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Raft> core;
  Index applied = 0;
  uint64_t applied_payload = 0;  // non-empty normal entries applied
  Index compacted_at = 0;
};

class Cluster {
 public:
  Cluster() {
    for (int i = 0; i < kMembers; ++i) {
      Member& m = members_[i];
      m.id = static_cast<NodeId>(i + 1);
      m.storage = std::make_unique<MemoryStorage>();
      Config c;
      c.id = m.id;
      c.peers = {1, 2, 3};
      c.election_tick = 10;
      c.heartbeat_tick = 1;
      c.max_msg_bytes = 4 << 20;
      c.max_inflight_msgs = 256;
      c.seed = m.id;
      auto core = Raft::Create(c, m.storage.get());
      if (!core.ok()) Die("Raft::Create: " + core.status().ToString());
      m.core = std::move(*core);
    }
  }

  Member& leader() { return members_[0]; }

  void ElectFirst() {
    members_[0].core->Campaign();
    for (int round = 0; round < 1000 && members_[0].core->role() != Role::kLeader; ++round) {
      Pump();
      for (Member& m : members_) m.core->Tick();
    }
    if (members_[0].core->role() != Role::kLeader) Die("member 1 did not become leader");
    Pump();
  }

  // Handles Readies and delivers messages until nothing is left to do.
  void Pump() {
    bool busy = true;
    while (busy) {
      busy = false;
      for (Member& m : members_) busy |= HandleReady(m);
      while (!queue_.empty()) {
        busy = true;
        pb::Message msg = std::move(queue_.front());
        queue_.pop_front();
        Member& to = members_[msg.to() - 1];
        coord::Status s = to.core->Step(std::move(msg));
        if (!s.ok()) Die("Step: " + s.ToString());
        HandleReady(to);
      }
    }
  }

  void TickAll() {
    for (Member& m : members_) m.core->Tick();
  }

 private:
  bool HandleReady(Member& m) {
    bool any = false;
    while (m.core->HasReady()) {
      any = true;
      Ready rd = m.core->GetReady();
      if (rd.MustPersist()) {
        PersistBatch b;
        b.snapshot = rd.snapshot ? &*rd.snapshot : nullptr;
        b.entries = rd.entries.empty() ? nullptr : &rd.entries;
        b.hard_state = rd.hard_state ? &*rd.hard_state : nullptr;
        coord::Status s = m.storage->Save(b);
        if (!s.ok()) Die("Save: " + s.ToString());
      }
      for (pb::Message& msg : rd.messages) queue_.push_back(std::move(msg));
      rd.messages.clear();
      if (rd.snapshot) m.applied = rd.snapshot->metadata().index();
      for (const pb::Entry& e : rd.committed_entries) {
        m.applied = e.index();
        if (e.type() == pb::ENTRY_NORMAL && !e.data().empty()) ++m.applied_payload;
      }
      m.core->Advance(rd);
      MaybeCompact(m);
    }
    return any;
  }

  void MaybeCompact(Member& m) {
    if (m.applied < m.compacted_at + kCompactEvery) return;
    if (m.applied > m.storage->HardState().commit()) return;
    pb::SnapshotMetadata meta;
    meta.set_index(m.applied);
    meta.set_term(m.core->TermAt(m.applied));
    for (NodeId id = 1; id <= kMembers; ++id) meta.mutable_conf_state()->add_voters(id);
    coord::Status s = m.storage->CreateSnapshot(meta, "bench-state", kKeepEntries);
    if (!s.ok()) Die("CreateSnapshot: " + s.ToString());
    m.compacted_at = m.applied;
  }

  Member members_[kMembers];
  std::deque<pb::Message> queue_;
};

double Run(size_t batch, double seconds) {
  Cluster cluster;
  cluster.ElectFirst();
  const std::string payload(kEntryBytes, 'x');
  using Clock = std::chrono::steady_clock;
  auto run_for = [&](double secs) {
    const auto t0 = Clock::now();
    const uint64_t a0 = cluster.leader().applied_payload;
    uint64_t iter = 0;
    while (true) {
      std::vector<std::string> data(batch, payload);
      auto r = cluster.leader().core->ProposeBatch(std::move(data));
      if (!r.ok()) Die("ProposeBatch: " + r.status().ToString());
      cluster.Pump();
      if (++iter % 64 == 0) {
        cluster.TickAll();
        cluster.Pump();
        if (std::chrono::duration<double>(Clock::now() - t0).count() >= secs) break;
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    return (cluster.leader().applied_payload - a0) / elapsed;
  };
  run_for(seconds / 4);  // warm-up
  return run_for(seconds);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3.0;
  std::vector<size_t> batches;
  if (argc > 1) {
    seconds = std::atof(argv[1]);
    if (seconds <= 0) Die("seconds must be positive");
  }
  for (int i = 2; i < argc; ++i) {
    const long b = std::atol(argv[i]);
    if (b <= 0) Die(std::string("bad batch size ") + argv[i]);
    batches.push_back(static_cast<size_t>(b));
  }
  if (batches.empty()) batches = {1, 64, 1024};
  for (size_t b : batches) {
    const double rate = Run(b, seconds);
    std::printf("raft_core_bench members=3 entry_bytes=%zu batch=%zu entries/s=%.0f\n", kEntryBytes,
                b, rate);
    std::fflush(stdout);
  }
  return 0;
}
