// An in-process network of Raft cores for unit tests (not a simulation: no
// time, no crashes beyond explicit restarts).
//
// Every node has a MemoryStorage that the network writes following the Ready
// contract of raft.h (persist, then send, then apply, then Advance). Messages go
// through one FIFO queue; DeliverAll() alternates "handle every Ready" and
// "deliver every queued message" until nothing is left. Faults: Cut(a, b),
// Isolate(id), SetDropRate(p) with a seeded RNG, a custom Filter, Recover().
//
// Applied state: each node records the entries it applied (index -> entry); a
// snapshot carries that map (encoded), so applied states can be compared after
// catch-up by snapshot. Step() errors on peer messages are test failures.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "coord/consensus/memory_storage.h"
#include "coord/consensus/raft.h"

namespace coord::raft::testing {

struct AppliedEntry {
  Term term = 0;
  pb::EntryType type = pb::ENTRY_NORMAL;
  std::string data;
  friend bool operator==(const AppliedEntry&, const AppliedEntry&) = default;
};

class TestNetwork {
 public:
  // Config used for every node (id, peers and seed are filled in per node).
  static Config DefaultConfig();

  // A brand-new cluster with these voters and learners; `tweak` may adjust each
  // node's config.
  explicit TestNetwork(std::vector<NodeId> voters, std::vector<NodeId> learners = {},
                       std::function<void(Config&)> tweak = nullptr);

  // Adds a fresh joining node (empty peers): it waits for a leader to add it.
  void AddJoiningNode(NodeId id);
  // Recreates node `id` from its storage (what was persisted), as after a crash;
  // messages queued to it are dropped.
  void Restart(NodeId id);

  Raft& node(NodeId id);
  MemoryStorage& storage(NodeId id);
  std::vector<NodeId> ids() const;

  // ---- driving ----
  void Tick(NodeId id);
  void TickAll();
  // Ticks every node and delivers everything, `n` times.
  void Run(int n);
  // Handles every Ready and delivers every message until quiescent (bounded).
  void DeliverAll();
  // Handles the pending Ready of one node (persist, queue messages, apply,
  // Advance).
  void ProcessReady(NodeId id);
  // Steps 1-4 of the Ready loop without Advance (for drivers that pipeline:
  // several Readies outstanding, advanced later in order).
  void HandleReady(NodeId id, Ready& rd);
  // Delivers only the messages queued right now (one hop), without Readies.
  void DeliverQueued();
  // Campaigns at `id` and delivers until quiet; returns the leader afterwards.
  NodeId Elect(NodeId id);
  // The leader with the highest term among the nodes, or kNoNode.
  NodeId Leader() const;
  // Proposes on the current leader and delivers; returns the index (0 on error).
  Index ProposeAndDeliver(const std::string& data);

  // ---- faults ----
  void Cut(NodeId a, NodeId b);
  void Isolate(NodeId id);
  void SetDropRate(double p, uint64_t seed = 7);
  // Extra filter: return false to drop a message; it may also modify it.
  void SetFilter(std::function<bool(pb::Message&)> filter) { filter_ = std::move(filter); }
  void Recover();

  // ---- observation ----
  const std::map<Index, AppliedEntry>& applied(NodeId id) const;
  Index applied_index(NodeId id) const;
  std::vector<ReadState>& read_states(NodeId id);
  // Every message handed out by any Ready so far (before filtering), in order.
  const std::vector<pb::Message>& sent() const { return sent_; }
  void ClearSent() { sent_.clear(); }
  // Messages waiting for delivery.
  std::deque<pb::Message>& queue() { return queue_; }
  uint64_t snapshots_installed(NodeId id) const;

  // Checks that applied entries agree on every common index across nodes.
  bool AppliedConsistent(std::string* why) const;

  // Compacts node `id`'s storage at its applied index, keeping `keep` entries.
  void Compact(NodeId id, uint64_t keep);

  static std::string EncodeState(const std::map<Index, AppliedEntry>& state);
  static std::map<Index, AppliedEntry> DecodeState(const std::string& data);

 private:
  struct Node {
    Config config;
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<Raft> raft;
    std::map<Index, AppliedEntry> applied;
    // Everything this node ever applied or restored, across restarts; an index
    // applied twice with different contents is a test failure.
    std::map<Index, AppliedEntry> history;
    Index applied_index = 0;
    std::vector<ReadState> read_states;
    uint64_t snapshots_installed = 0;
  };

  bool Allowed(pb::Message& m);
  void Record(NodeId id, Node& n, Index index, const AppliedEntry& e);

  std::function<void(Config&)> tweak_;
  std::map<NodeId, Node> nodes_;
  std::deque<pb::Message> queue_;
  std::vector<pb::Message> sent_;
  std::set<std::pair<NodeId, NodeId>> cuts_;
  std::set<NodeId> isolated_;
  double drop_rate_ = 0;
  uint64_t rng_state_ = 7;
  std::function<bool(pb::Message&)> filter_;
};

}  // namespace coord::raft::testing
