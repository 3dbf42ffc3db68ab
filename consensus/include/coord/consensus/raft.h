// The Raft core: a deterministic consensus state machine with no threads,
// sockets, clocks or disk.
//
// Everything the core decides is a function of its inputs: the Config (including
// the RNG seed), the contents of its LogStorage at Create(), and the sequence of
// calls below. Time is Tick(). Everything the application must do comes back as
// data in a Ready.
//
// The driving loop (see node.h for the real one, tests/sim for the simulated one):
//
//   raft->Tick() / Step(msg) / Propose(data) / ...
//   if (raft->HasReady()) {
//     Ready rd = raft->GetReady();
//     1. Persist: storage->Save({rd.snapshot, rd.entries, rd.hard_state}) — durable
//        before step 2, because messages may promise what was persisted (a vote,
//        an acknowledged append).
//     2. Send rd.messages (in any order; the network may reorder anyway).
//     3. If rd.snapshot is set, restore the state machine from it.
//        Then apply rd.committed_entries in order.
//     4. Serve rd.read_states whose index <= the applied index.
//     5. raft->Advance(rd).
//   }
//
// Membership: single-server changes (ProposeConfChange). A change takes effect on
// each member as soon as the entry is in its log (Raft dissertation §4.1), and is
// rolled back if that entry is truncated. A leader proposes a change only after an
// entry of its own term has committed and no other change is uncommitted.
//
// Thread-safety: none. One thread (or one strand) owns a Raft.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coord/consensus/storage.h"
#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

struct Config {
  // This member's id. Required, non-zero.
  NodeId id = kNoNode;

  // Membership of a brand-new cluster (voters), used only when the storage is
  // fresh (no hard state, no snapshot, no entries). Ignored on restart, where the
  // membership comes from the snapshot and the log. Bootstrap writes term-1
  // entries 1..n, one ENTRY_CONF_CHANGE per member in ascending id order (voters,
  // then learners), committed, in the first Ready; every initial member produces
  // the same entries.
  std::vector<NodeId> peers;
  // Learners of a brand-new cluster (same rule as `peers`).
  std::vector<NodeId> learners;

  // A follower that hears nothing from a leader for a randomized timeout in
  // [election_tick, 2 * election_tick) ticks starts an election.
  int election_tick = 10;
  // A leader sends heartbeats every heartbeat_tick ticks. Must be < election_tick.
  int heartbeat_tick = 1;

  // PreVote (dissertation §9.6): a member first asks whether it could win, and
  // only increments its term if a quorum says yes. Stops a partitioned member
  // from disrupting the cluster when it returns.
  bool pre_vote = true;
  // CheckQuorum: a leader that has not heard from a quorum of voters within an
  // election timeout steps down. Also makes followers ignore (pre)votes while they
  // believe a leader is alive (leader stickiness).
  bool check_quorum = true;
  // Lease reads: ReadIndex requests are answered at once by a leader that has
  // heard from a quorum within the election timeout, without a heartbeat round.
  // Needs check_quorum. Off by default, because the lease is counted in this
  // member's ticks and is safe only if (1) every member's ticks run at the same
  // rate to within one tick per election timeout, and (2) no member stops
  // ticking while time passes for the others: a leader paused (SIGSTOP, a VM
  // freeze, swap) for longer than the lease resumes believing it, while the
  // others may have elected a new leader, and then serves a stale read. ReadIndex
  // (the default) assumes nothing about time. See docs/decisions.md D49.
  bool lease_reads = false;

  // Flow control, per follower: at most max_inflight_msgs APPEND messages and
  // max_inflight_bytes bytes of entries unacknowledged (0 = unlimited bytes);
  // each APPEND carries at most max_msg_bytes bytes of entries (at least one).
  uint64_t max_msg_bytes = 1 << 20;
  int max_inflight_msgs = 256;
  uint64_t max_inflight_bytes = 0;

  // InstallSnapshot sends the snapshot image in chunks of this many bytes.
  uint64_t snapshot_chunk_bytes = 1 << 20;

  // The index the application has already applied (restart from a state machine
  // that persists its own state). Committed entries up to it are not returned
  // again. 0 = start applying after the snapshot.
  Index applied = 0;

  // Seed of the core's random number generator (election timeouts). Two cores with
  // the same seed and the same inputs make the same decisions.
  uint64_t seed = 1;
};

// A linearizable read became safe: once the applied index reaches `index`, a read
// of the state machine reflects every write committed before ReadIndex(context)
// was called.
struct ReadState {
  Index index = 0;
  std::string context;
};

// Volatile state worth reporting to the application when it changes.
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;
  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// One batch of work for the application. See the loop at the top of this file.
struct Ready {
  // Changed volatile state (leader, role); nothing to persist.
  std::optional<SoftState> soft_state;
  // Set when the hard state changed: persist it (step 1).
  std::optional<pb::HardState> hard_state;
  // Entries to append to storage (step 1); may overwrite a conflicting suffix.
  std::vector<pb::Entry> entries;
  // A snapshot received from the leader: persist (step 1), restore (step 3).
  std::optional<pb::Snapshot> snapshot;
  // Messages to send after persisting (step 2).
  std::vector<pb::Message> messages;
  // Entries newly committed, in index order, to apply (step 3). Includes
  // ENTRY_CONF_CHANGE entries (the core has already acted on them) and empty
  // ENTRY_NORMAL no-ops appended by new leaders.
  std::vector<pb::Entry> committed_entries;
  // Reads that became safe (step 4).
  std::vector<ReadState> read_states;

  // True when step 1 has something to make durable.
  bool MustPersist() const { return hard_state || !entries.empty() || snapshot; }
};

// Progress of one follower as seen by the leader (for status and metrics).
struct FollowerProgress {
  NodeId id = kNoNode;
  Index match = 0;
  Index next = 0;
  bool learner = false;
  bool recent_active = false;
  bool snapshot_in_flight = false;
};

struct RaftStatus {
  NodeId id = kNoNode;
  Term term = 0;
  NodeId vote = kNoNode;
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  pb::ConfState conf_state;
  std::vector<FollowerProgress> progress;  // leader only
};

class Raft {
 public:
  // Builds a core from storage (hard state, snapshot, log) and config.
  // A fresh store with Config::peers bootstraps a new cluster (see Config::peers);
  // a fresh store with no peers is a joining member: it has no membership, never
  // campaigns, and waits for a leader's append or snapshot.
  // Errors: kInvalidArgument for a bad config (id 0, heartbeat >= election,
  // duplicate or zero peers, lease_reads without check_quorum, applied beyond the
  // commit index); kCorruption for an inconsistent store; storage read errors are
  // passed through. `storage` must outlive the core.
  static Result<std::unique_ptr<Raft>> Create(const Config& config, const LogStorage* storage);

  ~Raft();
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Advances logical time by one tick.
  void Tick();

  // Handles a message from a peer. Messages for another member, from an older
  // term, or malformed (e.g. entries not contiguous) are ignored or rejected;
  // returns kInvalidArgument for a structurally invalid message (wrong `to`,
  // unknown type), kInternal for one that contradicts committed state (a bug or
  // a corrupted peer; it is ignored). Never aborts on peer input.
  Status Step(pb::Message message);

  // Appends `data` as a new entry if this member is the leader and returns its
  // index; the entry is committed when it appears in Ready::committed_entries
  // with the same index *and term* (see term()). Errors: kNotLeader (message
  // names the leader id if known; see leader()), kAborted while a leadership
  // transfer is in progress.
  Result<Index> Propose(std::string data);
  // The same for many entries at once (group commit); returns the first index,
  // the others follow consecutively.
  Result<Index> ProposeBatch(std::vector<std::string> data);

  // Proposes a single-server membership change. Errors: kNotLeader; kUnavailable
  // while another change is uncommitted or before an entry of this leader's term
  // has committed (retry later); kInvalidArgument for a change that makes no sense
  // (adding an existing voter, removing an unknown node, leaving no voters).
  Result<Index> ProposeConfChange(const pb::ConfChange& change);

  // Requests a linearizable read. `context` identifies the request (unique per
  // outstanding read); the answer arrives as a ReadState with the same context.
  // Followers forward the request to the leader. Errors: kNotLeader when no
  // leader is known; kUnavailable on a leader that has not yet committed an entry
  // of its term (retry shortly).
  Status ReadIndex(std::string context);

  // Asks the leader to hand leadership to `target` (a voter). The leader stops
  // accepting proposals, brings the target up to date, and sends it TIMEOUT_NOW.
  // The transfer is abandoned after an election timeout. Errors: kNotLeader;
  // kInvalidArgument if target is not a voter.
  Status TransferLeadership(NodeId target);

  // Starts an election now (used by tests and single-member bootstrap).
  void Campaign();

  // The transport could not deliver to `id`: the leader probes it again instead of
  // pipelining into the void.
  void ReportUnreachable(NodeId id);

  bool HasReady() const;
  // Collects pending work. Call Advance(ready) once it has been handled.
  // GetReady may be called again before the previous Ready was advanced: each
  // Ready carries only work not handed out before (nothing is lost or repeated),
  // as long as Readies are handled and advanced in the order they were returned.
  Ready GetReady();
  void Advance(const Ready& ready);

  // ---- Introspection ----
  NodeId id() const;
  Term term() const;
  Role role() const;
  NodeId leader() const;
  Index commit() const;
  Index last_index() const;
  // Term of the entry at `index` (0 if unknown/compacted).
  Term TermAt(Index index) const;
  // The latest membership: every change in the log applied, committed or not.
  pb::ConfState conf_state() const;
  // The membership in effect at `index` (changes up to it applied). Use it for
  // SnapshotMetadata::conf_state when snapshotting at the applied index: the
  // latest membership may include changes above the snapshot. Errors:
  // kCompacted below the latest snapshot the core knows, kInvalidArgument
  // beyond the last index.
  Result<pb::ConfState> ConfStateAt(Index index) const;
  RaftStatus GetStatus() const;

 private:
  class Impl;
  explicit Raft(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coord::raft
