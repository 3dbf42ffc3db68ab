// Node::Impl: the node driver's state, split over two sources:
//   node.cc       construction, Start/Stop, the thread-safe request queues
//   node_loop.cc  the loop on the node thread: drain, tick, Ready processing, apply
//
// Threads: callers of the public API touch only the fields under mu_ (and
// status_mu_). Everything else belongs to the node thread (before Start and
// after Stop's join, to whoever holds the Node).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/consensus/node.h"

namespace coord::raft {

class Node::Impl {
 public:
  Impl(NodeOptions options, std::unique_ptr<LogStorage> storage,
       std::unique_ptr<Transport> transport, StateMachine* state_machine);
  ~Impl();

  // Restores the state machine and the address book, creates the core.
  Status Init();
  Status Start();
  void Stop();

  void Propose(std::string data, Clock::time_point deadline, ProposeCallback done);
  void ProposeConfChange(pb::ConfChange change, Clock::time_point deadline,
                         ProposeCallback done);
  void ReadIndex(Clock::time_point deadline, ReadCallback done);
  void TransferLeadership(NodeId target, DoneCallback done);
  void Campaign();
  void SendApp(NodeId to, std::string payload);
  NodeStatus GetStatus() const;
  NodeId id() const { return options_.raft.id; }
  const NodeOptions& options() const { return options_; }

 private:
  struct QueuedProposal {
    std::string data;
    Clock::time_point deadline;
    ProposeCallback done;
  };
  struct QueuedConfChange {
    pb::ConfChange change;
    Clock::time_point deadline;
    ProposeCallback done;
  };
  struct QueuedRead {
    Clock::time_point deadline;
    ReadCallback done;
  };
  struct QueuedTransfer {
    NodeId target;
    DoneCallback done;
  };
  // Everything other threads hand to the loop; swapped out as a whole by Drain.
  struct Inbox {
    std::vector<pb::Message> messages;
    std::vector<NodeId> unreachable;
    std::vector<QueuedProposal> proposals;
    std::vector<QueuedConfChange> conf_changes;
    std::vector<QueuedRead> reads;
    std::vector<QueuedTransfer> transfers;
    bool campaign = false;
  };
  // A proposal appended to the log, waiting for its index to be applied.
  struct PendingProposal {
    Term term = 0;
    Clock::time_point deadline;
    ProposeCallback done;
  };
  struct PendingRead {
    Clock::time_point deadline;
    ReadCallback done;
    Index index = 0;  // set once the ReadState arrived
  };

  static pb::ConfChange MakeChange(pb::ConfChangeType type, NodeId id);

  // ---- Any thread ----
  // Posts Drain unless one is already posted. Requires mu_.
  void WakeLocked();
  Status RefusalLocked() const;
  // Fails every request in `inbox` with `status` (no lock held).
  static void FailInbox(Inbox* inbox, const Status& status, NodeId leader_hint);

  // ---- Node thread (node_loop.cc) ----
  void Drain();
  // Takes everything queued by other threads into the core (messages, requests,
  // proposals as one batch). False when the node is stopped or failed.
  bool Intake();
  void OnTick(const boost::system::error_code& ec);
  void ArmTimer();
  void StartProposals(std::vector<QueuedProposal> proposals);
  void StartConfChanges(std::vector<QueuedConfChange> changes);
  void StartReads(std::vector<QueuedRead> reads);
  void ProcessReady();
  Status InstallSnapshot(const pb::Snapshot& snapshot);
  Status ApplyCommitted(const pb::Entry& entry);
  void NoteAppendedEntries(const std::vector<pb::Entry>& entries);
  void AddPeerAddress(NodeId peer, const std::string& address);
  void OnReadState(const ReadState& read_state);
  void ReleaseReads();
  void OnSoftState(const SoftState& soft);
  void MaybeSnapshot();
  void ExpireDeadlines();
  // Stops the node after a storage failure: sticky error, everything fails.
  void Fail(const Status& cause);
  // Fails every pending (appended or in-flight) request with `status`.
  void FailPending(const Status& status);
  void PublishStatus();
  void RunCompletions();
  Status NotLeaderStatus() const;

  const NodeOptions options_;
  const std::unique_ptr<LogStorage> storage_;
  const std::unique_ptr<Transport> transport_;
  StateMachine* const state_machine_;
  std::unique_ptr<Raft> raft_;

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer timer_;
  std::thread thread_;

  // Shared with other threads.
  mutable std::mutex mu_;
  Inbox inbox_;              // guarded by mu_
  bool drain_posted_ = false;  // guarded by mu_
  bool started_ = false;       // guarded by mu_
  bool stopped_ = false;       // guarded by mu_
  Status error_;               // guarded by mu_; sticky failure

  mutable std::mutex status_mu_;
  NodeStatus status_;  // guarded by status_mu_

  // Node thread only.
  bool loop_stopping_ = false;  // Stop began: do not re-arm the timer
  bool failed_ = false;         // Fail() ran
  std::map<Index, PendingProposal> pending_;        // by log index
  std::map<std::string, PendingRead> reads_asked_;  // by context, awaiting a ReadState
  std::multimap<Index, PendingRead> reads_ready_;   // awaiting applied >= index
  uint64_t next_read_id_ = 0;
  // Callbacks of requests decided in the current Ready (run once it is handled).
  std::vector<std::function<void()>> completions_;
  Index applied_ = 0;
  Index snapshot_index_ = 0;
  pb::ConfState applied_conf_;                // membership as of applied_
  std::map<NodeId, std::string> addresses_;   // peer address book (may include self)
  SoftState soft_;
  Term last_term_ = 0;
  uint64_t snapshots_taken_ = 0;
  uint64_t snapshots_installed_ = 0;
  uint64_t saves_ = 0;
  uint64_t synced_saves_ = 0;
  // Term and vote of the last saved hard state (a change of either must sync).
  Term synced_term_ = 0;
  NodeId synced_vote_ = kNoNode;
  uint64_t proposals_batched_ = 0;
  uint64_t messages_refused_ = 0;
};

}  // namespace coord::raft
