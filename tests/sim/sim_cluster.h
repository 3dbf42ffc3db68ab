// SimCluster: a deterministic in-process Raft cluster for the simulation.
//
// Each member is a real Raft core over a MemoryStorage, driven per the Ready
// contract of raft.h (persist, send, restore/apply, serve reads, Advance), with a
// SimApp state machine that snapshots itself every `snapshot_every` applied
// entries. Members talk through a SimNetwork. Nothing here reads a clock or a
// random device: time is now() and randomness comes from the run's SimRng.
//
// Every public mutating call is one *step*; after each step the cluster runs the
// SimChecker invariants over all members, plus the core's own claims: term and
// commit never decrease within one incarnation of a member, a restarted member
// resumes its persisted term and vote, only a leader accepts proposals, and every
// ReadState is at or above the highest index committed anywhere when its
// ReadIndex was called (and is served only once applied). Scenario tests call the
// primitives directly; sim_workload.h drives them at random.
//
// Crashes destroy a member's core and its volatile state (pending reads, unsent
// messages, unadvanced Readies, and the application state unless
// persistent_app); the MemoryStorage survives, because everything in it was
// Saved. A crash can also be armed to hit right after the next persist and before
// that Ready's messages leave. A member whose removal commits is retired (stopped
// for good); a member added as a learner starts with an empty store and no peers.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "coord/consensus/memory_storage.h"
#include "coord/consensus/raft.h"
#include "sim_app.h"
#include "sim_checker.h"
#include "sim_network.h"
#include "sim_rng.h"

namespace coord::raft::sim {

struct ClusterOptions {
  int members = 3;
  int election_tick = 10;
  int heartbeat_tick = 2;
  // Application snapshot every this many applied entries (0 = never), keeping a
  // random tail of [0, max_keep_entries] entries in the log.
  uint64_t snapshot_every = 10;
  uint64_t max_keep_entries = 4;
  uint64_t snapshot_chunk_bytes = 64;
  uint64_t max_msg_bytes = 256;
  int max_inflight_msgs = 4;
  bool pre_vote = true;
  bool check_quorum = true;
  // Pipelining: once it has no new Ready, a member leaves the Readies it handled
  // unadvanced with this probability (into later steps, where new input yields
  // new Readies); raft.h allows GetReady before Advance if Readies are advanced
  // in order.
  double pipeline_readies = 0.0;
  // The application's state survives crashes (it persists itself); on restart
  // the core is told its applied index through Config::applied and must not
  // re-deliver or skip entries. Otherwise the application restarts from the
  // storage's snapshot.
  bool persistent_app = false;
  // Config::lease_reads (needs check_quorum). Lease reads assume bounded clock
  // drift, so runs that use them should also set lockstep_ticks.
  bool lease_reads = false;
  // Tick members round-robin (clocks advance at the same rate) instead of a
  // random member per tick slot (clocks drift).
  bool lockstep_ticks = false;
  // Test-only fault: Save() never receives hard states, like a disk that loses
  // terms and votes. Used to prove the checker catches the consequences.
  bool TEST_lose_hard_state = false;
  // Test-only fault: this fraction of Saves is made with sync=false, and a crash
  // loses every unsynced Save since the last synced one (a driver that forgot to
  // fsync). Raft cannot survive losing what it acknowledged; used to prove the
  // checker notices.
  double TEST_unsynced_saves = 0.0;
};

enum class MemberState { kUp, kDown, kRetired };

struct ReadRequest {
  std::string context;
  Index must_include = 0;  // highest index committed anywhere when the read started
  Index read_index = 0;    // set when the ReadState arrived
};

struct SimMember {
  NodeId id = kNoNode;
  MemberState state = MemberState::kDown;
  // True once the member is in the committed configuration (always for founders).
  bool joined = false;
  Config config;
  std::unique_ptr<MemoryStorage> storage;
  // With TEST_unsynced_saves: the storage as of the last synced Save, restored
  // by a crash; null when everything saved is durable.
  std::unique_ptr<MemoryStorage> durable;
  std::unique_ptr<Raft> core;
  std::unique_ptr<SimApp> app;
  // Monotonicity within one incarnation.
  Term last_term = 0;
  Index last_commit = 0;
  // Leader-completeness bookkeeping: (term, watermark version) last checked.
  Term checked_leader_term = 0;
  uint64_t checked_version = 0;
  // Readies handled (persisted, sent, applied) but not yet advanced, in order.
  std::vector<Ready> unadvanced;
  bool crash_after_persist = false;
  Index crash_min_index = 0;                 // see SimCluster::CrashAfterNextPersist
  std::map<std::string, ReadRequest> reads;  // by context, awaiting a ReadState
  std::vector<ReadRequest> released;         // awaiting applied >= read_index
  // Statistics.
  uint64_t restores = 0;
  uint64_t reads_served = 0;
};

struct ClusterStats {
  uint64_t steps = 0;
  uint64_t proposals = 0;
  uint64_t crashes = 0;
  uint64_t restarts = 0;
  uint64_t snapshots_created = 0;
  uint64_t snapshots_restored = 0;
  uint64_t reads_served = 0;
  uint64_t conf_changes_committed = 0;  // first applications of conf change entries
  uint64_t members_joined = 0;          // new members that entered the committed conf
  uint64_t members_retired = 0;         // members whose removal committed
  uint64_t transfers = 0;
  uint64_t pipelined_readies = 0;  // GetReady calls made before advancing the previous
};

class SimCluster {
 public:
  // `trace` (optional, not owned) receives one line per event.
  SimCluster(uint64_t seed, ClusterOptions options, std::ostream* trace = nullptr);
  ~SimCluster();

  // Creates and starts the founding members 1..options.members. One step.
  Status Start();

  // ---- Steps ----
  // Delivers the next due message (if any; returns false when none was due).
  bool DeliverOne();
  // Advances time by one unit and ticks one random non-retired member.
  void TickSlot();
  // One unit of background activity: deliver a due message (98% of the time when
  // one is due, so deliveries keep up with traffic), or else a tick slot.
  void BackgroundStep();
  // Proposes `data` at `id`. Returns the core's answer.
  Result<Index> Propose(NodeId id, std::string data);
  Result<Index> ProposeBatch(NodeId id, std::vector<std::string> data);
  // Starts a ReadIndex at `id`.
  Status ReadIndex(NodeId id);
  Status TransferLeadership(NodeId leader, NodeId target);
  // Proposes a membership change at `leader`. Adding a learner with a new id
  // also creates and starts that member (empty storage, no peers).
  Result<Index> ChangeMembership(NodeId leader, pb::ConfChangeType type, NodeId node);
  void Crash(NodeId id);
  // Arms a crash of `id` right after it persists a Ready (before that Ready's
  // messages are sent): the next Ready that persists anything, or, with
  // min_index > 0, the next one that persists an entry with index >= min_index.
  void CrashAfterNextPersist(NodeId id, Index min_index = 0);
  // Cancels every armed CrashAfterNextPersist (not a step).
  void DisarmCrashes();
  Status Restart(NodeId id);
  void Partition(const std::vector<NodeId>& side);  // side vs everyone else, both ways
  void CutOneWay(NodeId from, NodeId to);
  void Heal();
  void SetNetworkFaults(const NetworkFaults& faults);
  // Runs BackgroundStep until pred() holds (checked after each step), a violation
  // or `max_steps`; returns pred().
  template <typename Pred>
  bool RunUntil(Pred pred, uint64_t max_steps) {
    for (uint64_t i = 0; i < max_steps && !failed(); ++i) {
      if (pred()) return true;
      BackgroundStep();
    }
    return !failed() && pred();
  }

  // ---- Queries ----
  bool failed() const { return checker_.failed(); }
  const std::string& violation() const { return checker_.violation(); }
  uint64_t now() const { return now_; }
  SimRng& rng() { return rng_; }
  const SimChecker& checker() const { return checker_; }
  const ClusterStats& stats() const { return stats_; }
  const SimNetwork& network() const { return network_; }
  // The membership as of the highest index applied anywhere.
  const pb::ConfState& committed_conf() const { return committed_conf_; }
  const std::map<NodeId, SimMember>& members() const { return members_; }
  const SimMember* member(NodeId id) const;
  bool IsUp(NodeId id) const;
  // The up member that is leader in the highest term, if any.
  std::optional<NodeId> Leader() const;
  // Ids of members in `state`.
  std::vector<NodeId> Ids(MemberState state) const;
  // Up members that are in the committed configuration.
  std::vector<NodeId> LiveMembers() const;
  NodeId next_id() const { return next_id_; }
  // Writes a one-line-per-member summary to `os`.
  void Describe(std::ostream& os) const;
  // Marks the run failed with `what` (e.g. a liveness bound exceeded).
  void Fail(const std::string& what) { checker_.Fail(what); }
  // Emits `line` to the trace, if any.
  void Trace(const std::string& line);
  bool tracing() const { return trace_ != nullptr; }

 private:
  SimMember* Find(NodeId id);
  Status StartMember(SimMember& m);
  void StopMember(SimMember& m);
  void HandleReady(SimMember& m);
  // Advances every handled Ready of `m`, in order, then maybe snapshots.
  void AdvanceAll(SimMember& m);
  void Persist(SimMember& m, const Ready& rd);
  void ApplyReady(SimMember& m, const Ready& rd);
  void ServeReads(SimMember& m);
  void MaybeSnapshot(SimMember& m);
  void Deliver(pb::Message msg);
  // Runs after every step: handles Readies, then checks invariants.
  void EndStep();
  void CheckMember(SimMember& m);
  void UpdateMembership();

  SimRng rng_;
  ClusterOptions options_;
  std::ostream* trace_;
  SimNetwork network_;
  SimChecker checker_;
  std::map<NodeId, SimMember> members_;
  pb::ConfState initial_conf_;
  pb::ConfState committed_conf_;
  uint64_t now_ = 0;
  uint64_t read_seq_ = 0;
  uint64_t tick_cursor_ = 0;  // round-robin position for lockstep_ticks
  NodeId next_id_ = 1;
  ClusterStats stats_;
};

}  // namespace coord::raft::sim
