// Node: runs a Raft core for real — a thread, a clock, a disk and a network.
//
// A Node owns one I/O thread with its own io_context (so a slow fsync in one node
// never stalls another component's event loop). Every call into the core, the
// storage and the StateMachine happens on that thread, one at a time. Each loop
// iteration follows the Ready contract of raft.h:
//
//   1. Save everything the Ready asks to persist as ONE PersistBatch (sync = true).
//   2. Send its messages through the Transport.
//   3. Restore a received snapshot, then apply committed entries to the StateMachine.
//   4. Complete ReadIndex requests whose index <= the applied index.
//   5. Advance.
//
// Group commit: Propose() may be called from any thread. Requests wait in a
// mutex-protected queue; the loop drains ALL queued requests into one
// Raft::ProposeBatch, so many concurrent proposers share one fsync.
//
// Failure: a storage error (or a snapshot the StateMachine cannot restore) stops
// the node loudly — it logs an error, fails all pending work with kIOError, stops
// ticking and talking, and refuses new work with the same error. It never
// continues on a half-written state.
//
// The StateMachine is treated as in-memory: on start the node restores it from
// the storage's latest snapshot and re-applies the committed entries after it.
// An application that persists its own state sets NodeOptions::raft.applied to the
// index it has applied; then the snapshot is not restored and entries up to that
// index are not applied again.
//
// Thread-safety: all public methods are thread-safe, except that Stop() (and the
// destructor) must not be called from a callback (callbacks run on the node
// thread, which Stop joins).
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "coord/consensus/raft.h"
#include "coord/consensus/storage.h"
#include "coord/consensus/transport.h"
#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

// The replicated application. All methods are called on the node thread, one at a
// time, never concurrently.
class StateMachine {
 public:
  virtual ~StateMachine() = default;

  // Applies a committed ENTRY_NORMAL entry with non-empty data (no-ops and
  // membership changes are handled by the node) and returns the result that
  // completes the matching proposal (handed over as is: no copy, no encoding).
  // Must be deterministic: every member applies the same entries in the same
  // order and must reach the same state.
  //
  // An error means this member cannot apply a committed entry (one written by a
  // newer version, say): the node fails loudly (see "Failure" above) instead of
  // skipping it and diverging from the members that can. Domain errors of a
  // request are results, never errors of Apply.
  virtual Result<std::any> Apply(Index index, const std::string& data) = 0;

  // Returns an image of the state as of the last applied entry.
  virtual std::string Snapshot() = 0;

  // Replaces the whole state with `image` (as returned by Snapshot() on some
  // member). An error stops the node (see "Failure" above).
  virtual Status Restore(const std::string& image) = 0;
};

struct NodeOptions {
  // The core's configuration: id, initial peers, election_tick (default 10),
  // heartbeat_tick (default 1), pre_vote, check_quorum, ... See raft.h.
  // `raft.seed` is mixed with the id so members do not time out in lockstep.
  Config raft;

  // Peer addresses ("host:port") known at start, by member id. This member's own
  // entry, if present, is ignored (the transport is configured with its own listen
  // address). Members added later learn addresses from the ConfChange context in
  // the log, and snapshots carry the address book.
  std::map<NodeId, std::string> peer_addresses;

  // The core is ticked this often. Election timeout = election_tick * tick_interval.
  std::chrono::milliseconds tick_interval{100};

  // A proposal, conf change or read without an explicit deadline fails with
  // kTimeout after this long. Deadlines are checked on every tick, so a request
  // fails at most one tick_interval after its deadline.
  std::chrono::milliseconds default_timeout{5000};

  // When the applied index is this many entries past the latest snapshot, the
  // node snapshots the StateMachine and compacts the log, keeping
  // `snapshot_keep_entries` entries so slightly lagging followers can catch up
  // from the log. 0 disables automatic snapshots.
  uint64_t snapshot_threshold = 10000;
  uint64_t snapshot_keep_entries = 1000;

  // PersistBatch::sync. Only tests and benchmarks of the non-durable path turn
  // this off; with false an acknowledged write may be lost by a machine crash.
  bool sync = true;

  // When false, a Ready whose only durable change is a higher commit index (no
  // entries, no snapshot, same term and vote) is saved without fsync; its commit
  // index becomes durable with the next synced write. Raft's safety does not
  // depend on a durable commit index (after a crash it is re-learnt from the
  // leader), and every entry is still synced before it is acknowledged, so
  // acknowledged writes still survive a crash of every member. Saves a leader
  // about half of its fsyncs under load. Default true: every Ready is synced.
  bool sync_commit_updates = true;

  // Called on the transport's thread when an application payload arrives from a
  // peer (Transport::SendApp). Must not block. Optional.
  std::function<void(NodeId from, std::string payload)> on_app;
};

// How a proposal (or conf change) ended. Exactly one per request.
//
// What an error says about the outcome: `indeterminate` is false when the entry
// certainly was not and will not be applied (never appended, or overwritten by
// another leader's entry), true when it was appended and may have been applied
// or may still be (deadline passed, leadership lost, superseded by a snapshot,
// node stopped or failed while it was pending).
struct ProposeResult {
  // OK: committed and applied at `index`. kNotLeader: this member is not the
  // leader, or lost leadership before the entry committed (the entry MAY still
  // commit: retry with an idempotent request); `leader_hint` names the leader if
  // known. kAborted: the entry was overwritten by another leader's entry, a
  // leadership transfer is in progress, or the node stopped. kTimeout: the
  // deadline passed (the entry may still commit). kIOError: the node failed.
  // kUnavailable / kInvalidArgument: a conf change that cannot be proposed now /
  // at all.
  Status status;
  Index index = 0;         // set once the entry was appended to the leader's log
  std::any result;         // StateMachine::Apply's result (OK only)
  NodeId leader_hint = kNoNode;
  bool indeterminate = false;  // error only: the entry may have been applied
};

// How a ReadIndex request ended.
struct ReadResult {
  // OK: the StateMachine has applied at least `index`, so a read of it now (on
  // the node thread, i.e. inside this callback) reflects every write committed
  // before ReadIndex() was called. Errors as for ProposeResult, plus
  // kUnavailable while a new leader has not committed an entry of its term yet.
  Status status;
  Index index = 0;
  NodeId leader_hint = kNoNode;
};

// A consistent snapshot of the node's state, for status pages and tests.
struct NodeStatus {
  RaftStatus raft;          // the core's view (term, role, commit, progress, ...)
  Index applied = 0;        // last entry applied to the StateMachine
  NodeId leader = kNoNode;  // known leader, kNoNode if none
  Index snapshot_index = 0; // index of the latest snapshot in storage
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_installed = 0;
  uint64_t saves = 0;       // storage Save() calls
  uint64_t synced_saves = 0;  // of which with sync = true (fsyncs)
  uint64_t proposals_batched = 0;  // entries proposed through ProposeBatch
  uint64_t messages_refused = 0;   // peer messages the core refused (malformed, absurd)
  Status error;             // non-OK once the node has failed
  bool running = false;
};

class Node {
 public:
  using Clock = std::chrono::steady_clock;
  using ProposeCallback = std::function<void(ProposeResult)>;
  using ReadCallback = std::function<void(ReadResult)>;
  using DoneCallback = std::function<void(Status)>;

  // Builds a node: restores `state_machine` from the storage's snapshot (unless
  // options.raft.applied covers it), creates the core, and registers the peer
  // addresses with the transport. Nothing runs until Start().
  // The node takes ownership of `storage` and `transport`; `state_machine` is
  // borrowed and must outlive the node. Errors: kInvalidArgument (bad options,
  // null arguments), errors of the storage, the core or StateMachine::Restore.
  static Result<std::unique_ptr<Node>> Create(NodeOptions options,
                                              std::unique_ptr<LogStorage> storage,
                                              std::unique_ptr<Transport> transport,
                                              StateMachine* state_machine);

  ~Node();  // Stop()s.
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Starts the transport and the node thread. Errors: the transport's Start error;
  // kInvalidArgument when called twice or after Stop.
  Status Start();

  // Stops ticking, fails all pending work with kAborted, stops the transport,
  // joins the node thread. Idempotent. Not from a callback.
  void Stop();

  // Proposes `data` (non-empty) for replication. `done` runs exactly once: on the
  // node thread; or inline on the caller's thread when the node is stopped or
  // failed, or `data` is empty (kInvalidArgument); or on the thread calling Stop()
  // for requests still pending then (kAborted). It must not block; it may call
  // Propose/ReadIndex again (they only enqueue).
  void Propose(std::string data, ProposeCallback done);
  void Propose(std::string data, Clock::time_point deadline, ProposeCallback done);

  // Proposes a membership change. For CONF_ADD_VOTER / CONF_ADD_LEARNER put the
  // new member's peer address ("host:port") in change.context: every member adds
  // it to its transport when the entry is appended. Removed members are dropped
  // from the transport when the entry is applied. Completes like Propose (with an
  // empty result) once the change is applied, or fails at the deadline (default:
  // default_timeout).
  void ProposeConfChange(pb::ConfChange change, ProposeCallback done);
  void ProposeConfChange(pb::ConfChange change, Clock::time_point deadline,
                         ProposeCallback done);

  // Requests a linearizable read point; see ReadResult. Works on followers too
  // (the core forwards the request to the leader).
  void ReadIndex(ReadCallback done);
  void ReadIndex(Clock::time_point deadline, ReadCallback done);

  // Asks the leader to hand leadership to `target`. `done` gets the core's answer
  // (OK means the transfer started, not that it finished: watch GetStatus()).
  void TransferLeadership(NodeId target, DoneCallback done);

  // Starts an election on this member now (bootstrap helpers and tests).
  void Campaign();

  // Sends an application payload to a peer through the transport (best effort).
  void SendApp(NodeId to, std::string payload);

  // Thread-safe; refreshed after every loop iteration.
  NodeStatus GetStatus() const;

  NodeId id() const;

 private:
  class Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coord::raft
