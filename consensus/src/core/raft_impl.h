// Raft::Impl: the state and the step/tick machinery behind the Raft facade.
//
// Internal header. The implementation is split by concern:
//   raft.cc              facade, Create (bootstrap/restart), Ready/Advance, status
//   election.cc          Step (term handling), roles, ticks, (pre)votes
//   replication.cc       APPEND/HEARTBEAT on both sides, commit, flow control
//   snapshot_transfer.cc chunked InstallSnapshot on both sides
//   read_index.cc        ReadIndex (heartbeat rounds) and lease reads
//   leader_ops.cc        proposals, membership changes, leadership transfer
//
// Invariants kept throughout:
//   - role_ == kLeader  <=>  lead_ == id_ and step_ == &Impl::StepLeader;
//   - while leader, prs_ holds one Progress per member of members_ (including
//     self, whose match is the last index) plus removed members until their
//     removal commits; quorums are always computed over members_ only;
//   - log_.committed() only grows; membership reflects exactly the log's entries.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coord/consensus/raft.h"
#include "core/membership.h"
#include "core/progress.h"
#include "core/raft_log.h"
#include "core/rng.h"

namespace coord::raft {

// The vote context of a campaign started by MSG_TIMEOUT_NOW.
inline constexpr char kTransferContext[] = "transfer";

class Raft::Impl {
 public:
  static Result<std::unique_ptr<Impl>> Create(const Config& config, const LogStorage* storage);

  void Tick();
  Status Step(pb::Message message);
  Result<Index> Propose(std::string data);
  Result<Index> ProposeBatch(std::vector<std::string> data);
  Result<Index> ProposeConfChange(const pb::ConfChange& change);
  Status ReadIndex(std::string context);
  Status TransferLeadership(NodeId target);
  void Campaign();
  void ReportUnreachable(NodeId id);

  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  NodeId id() const { return id_; }
  Term term() const { return term_; }
  Role role() const { return role_; }
  NodeId leader() const { return lead_; }
  Index commit() const { return log_.committed(); }
  Index last_index() const { return log_.LastIndex(); }
  Term TermAt(Index index) const { return log_.TermOrZero(index); }
  pb::ConfState conf_state() const { return members_.ToConfState(); }
  Result<pb::ConfState> ConfStateAt(Index index) const;
  RaftStatus GetStatus() const;

 private:
  enum class CampaignType { kPreElection, kElection, kTransfer };
  using StepFn = Status (Impl::*)(pb::Message& m);
  using TickFn = void (Impl::*)();

  Impl(const Config& config, const LogStorage* storage, Index committed, Index applied);
  Status Bootstrap();
  Status Restart();

  // ---- roles (election.cc) ----
  void Reset(Term term);
  void BecomeFollower(Term term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void StartCampaign(CampaignType type);
  void TickElection();
  void TickHeartbeat();
  void ResetRandomizedElectionTimeout();
  // May this member start an election? A voter may. With PreVote, so may a
  // member that was a voter in a configuration not yet known to be committed: an
  // uncommitted change that removed it may still be truncated, and the cluster
  // may need it to get there (dissertation §4.1). Without PreVote such a member
  // would bump terms and depose leaders while its own removal is being
  // committed (a livelock the simulation found, seed 1030400), so it stays
  // quiet. Its own vote counts only while it is a voter in its latest
  // configuration. Learners and removed members never campaign.
  bool Promotable() const {
    return members_.IsVoter(id_) ||
           (cfg_.pre_vote && members_.LastChangeIndex() > log_.committed() &&
            members_.IsVoterSince(id_, log_.committed()));
  }
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  Status HandleVoteRequest(const pb::Message& m);
  Status StepFollower(pb::Message& m);
  Status StepCandidate(pb::Message& m);
  Status StepLeader(pb::Message& m);
  bool QuorumActive() const;

  // ---- replication (replication.cc) ----
  void Send(pb::Message m);
  bool MaybeSendAppend(NodeId to, Progress& pr, bool send_if_empty);
  void SendHeartbeat(NodeId to, const Progress& pr, const std::string& context);
  void BroadcastAppend();
  void BroadcastHeartbeat();
  bool MaybeCommit();
  Status HandleAppend(pb::Message& m);
  void HandleHeartbeat(const pb::Message& m);
  void HandleAppendResponse(const pb::Message& m, Progress& pr);
  void HandleHeartbeatResponse(const pb::Message& m, Progress& pr);
  // Appends entries as leader (terms and indexes already set).
  void AppendAsLeader(std::vector<pb::Entry>&& entries);
  // After membership changed: resync progress, quorum-dependent state.
  void OnMembershipChanged();
  // Drops the progress of removed members once no change is uncommitted.
  void PruneRemovedProgress();
  void StepDownIfRemoved();

  // ---- snapshots (snapshot_transfer.cc) ----
  bool SendSnapshot(NodeId to, Progress& pr);
  void SendSnapshotChunk(NodeId to, Progress& pr);
  Status HandleSnapshotChunk(const pb::Message& m);
  void HandleSnapshotResponse(const pb::Message& m, Progress& pr);
  // Installs a complete snapshot; false if it is not newer than our commit.
  bool RestoreSnapshot(pb::Snapshot&& snapshot);

  // ---- reads (read_index.cc) ----
  bool CommittedInCurrentTerm() const;
  void HandleReadIndexRequest(NodeId from, std::string context);
  void ReleaseReads();
  bool LeaseValid() const;
  void RespondRead(NodeId from, Index index, std::string context);

  // ---- leader operations (leader_ops.cc) ----
  Status CheckCanPropose() const;
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  void SendTimeoutNow(NodeId to);

  Config cfg_;
  const LogStorage* storage_;
  NodeId id_;
  RaftLog log_;
  Membership members_;
  Rng rng_;

  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  StepFn step_ = &Impl::StepFollower;
  TickFn tick_ = &Impl::TickElection;

  std::map<NodeId, Progress> prs_;  // leader only (ordered: deterministic)
  std::map<NodeId, bool> votes_;    // (pre)candidate only
  NodeId lead_transferee_ = kNoNode;
  // Set when this leader sent TIMEOUT_NOW in its current term. The target's
  // campaign overrides the followers' leader stickiness, so the lease premise
  // ("no one else can be elected for an election timeout") no longer holds:
  // lease reads are off for the rest of the term (ReadIndex rounds still work).
  bool lease_forfeited_ = false;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  uint64_t ticks_ = 0;  // leader's logical clock for leases

  // ReadIndex: heartbeat rounds. Every heartbeat broadcast is a new round whose
  // number and send tick travel in the heartbeat context; a read waits for a
  // quorum to acknowledge a round started at or after it.
  struct PendingRead {
    Index index;
    std::string context;
    NodeId from;  // kNoNode (or id_) = local
    uint64_t round;
  };
  uint64_t round_ = 0;
  std::deque<PendingRead> pending_reads_;

  // Follower side of an InstallSnapshot transfer in progress.
  struct SnapshotReceive {
    bool active = false;
    NodeId from = kNoNode;
    Term term = 0;
    pb::SnapshotMetadata metadata;
    std::string data;
    uint64_t total_size = 0;
  };
  SnapshotReceive snap_recv_;

  // Scratch space for quorum computations (avoids an allocation per call).
  mutable std::vector<uint64_t> scratch_;

  // Ready bookkeeping.
  std::vector<pb::Message> msgs_;
  std::vector<ReadState> read_states_;
  SoftState prev_soft_;
  pb::HardState prev_hard_;
};

}  // namespace coord::raft
