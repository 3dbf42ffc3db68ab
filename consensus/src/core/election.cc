// Step (term handling), roles, ticks and (pre)votes.
//
// Term handling happens once, here in Step(); the role-specific behaviour is a
// step function and a tick function switched by the Become* methods.
#include <climits>
#include <string>
#include <utility>

#include "core/check.h"
#include "core/quorum.h"
#include "core/raft_impl.h"

namespace coord::raft {
namespace {

bool IsLeaderMessage(pb::MessageType t) {
  return t == pb::MSG_APPEND || t == pb::MSG_HEARTBEAT || t == pb::MSG_SNAPSHOT;
}

pb::MessageType VoteResponseType(pb::MessageType t) {
  return t == pb::MSG_PRE_VOTE ? pb::MSG_PRE_VOTE_RESP : pb::MSG_VOTE_RESP;
}

// Structural checks of a peer message (anything that would make handling it
// meaningless). Semantic staleness is handled by the step functions.
Status ValidateMessage(const pb::Message& m, NodeId self) {
  if (m.to() != self) {
    return Status::InvalidArgument("message for node " + std::to_string(m.to()) +
                                   " delivered to node " + std::to_string(self));
  }
  if (m.from() == kNoNode || m.from() == self) {
    return Status::InvalidArgument("message has an invalid sender " + std::to_string(m.from()));
  }
  if (m.type() == pb::MSG_NONE || !pb::MessageType_IsValid(m.type())) {
    return Status::InvalidArgument("message has an unknown type " +
                                   std::to_string(static_cast<int>(m.type())));
  }
  // Bounds first: no later arithmetic on a peer's numbers may overflow, and no
  // absurd term may be adopted (see kMaxTerm).
  if (m.term() > kMaxTerm || m.log_term() > kMaxTerm || m.hint_term() > kMaxTerm) {
    return Status::InvalidArgument("message carries a term above the maximum " +
                                   std::to_string(kMaxTerm));
  }
  if (m.index() > kMaxIndex || m.commit() > kMaxIndex || m.reject_hint() > kMaxIndex) {
    return Status::InvalidArgument("message carries an index above the maximum " +
                                   std::to_string(kMaxIndex));
  }
  if (m.type() == pb::MSG_APPEND) {
    for (int k = 0; k < m.entries_size(); ++k) {
      const pb::Entry& e = m.entries(k);
      if (e.index() != m.index() + 1 + static_cast<Index>(k)) {
        return Status::InvalidArgument("append entries are not contiguous after index " +
                                       std::to_string(m.index()));
      }
      if (e.term() > m.term() || e.term() == 0) {
        return Status::InvalidArgument("append entry " + std::to_string(e.index()) +
                                       " has an invalid term " + std::to_string(e.term()));
      }
    }
  }
  if (m.type() == pb::MSG_SNAPSHOT) {
    const pb::SnapshotChunk& c = m.snapshot();
    if (c.metadata().index() == 0 || c.metadata().term() == 0) {
      return Status::InvalidArgument("snapshot chunk without metadata");
    }
    if (c.metadata().index() > kMaxIndex || c.metadata().term() > m.term()) {
      return Status::InvalidArgument("snapshot chunk with an impossible index or term");
    }
    if (c.offset() > c.total_size() || c.data().size() > c.total_size() - c.offset()) {
      return Status::InvalidArgument("snapshot chunk beyond the snapshot's total size");
    }
  }
  return Status::Ok();
}

}  // namespace

Status Raft::Impl::Step(pb::Message m) {
  COORD_RETURN_IF_ERROR(ValidateMessage(m, id_));
  const pb::MessageType type = m.type();

  if (m.term() > term_) {
    if (type == pb::MSG_VOTE || type == pb::MSG_PRE_VOTE) {
      // Leader stickiness: while we believe a leader is alive, a disruptive
      // candidate is ignored, unless the leader itself asked for the election.
      bool force = m.context() == kTransferContext;
      bool in_lease =
          cfg_.check_quorum && lead_ != kNoNode && election_elapsed_ < cfg_.election_tick;
      if (!force && in_lease) return Status::Ok();
    }
    if (type == pb::MSG_PRE_VOTE) {
      // A pre-vote never changes our term.
    } else if (type == pb::MSG_PRE_VOTE_RESP && !m.reject()) {
      // A granted pre-vote carries the term the pre-candidate will campaign at.
    } else if (IsLeaderMessage(type)) {
      BecomeFollower(m.term(), m.from());
    } else {
      BecomeFollower(m.term(), kNoNode);
    }
  } else if (m.term() < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (type == pb::MSG_APPEND || type == pb::MSG_HEARTBEAT)) {
      // A stale leader (e.g. back from a partition) learns the newer term from
      // our answer and steps down; without it, check-quorum/pre-vote could leave
      // it unable to hear about the new term at all.
      pb::Message resp;
      resp.set_type(pb::MSG_APPEND_RESP);
      resp.set_to(m.from());
      Send(std::move(resp));
    } else if (type == pb::MSG_PRE_VOTE) {
      // Reject so the pre-candidate learns our term and does not wait forever.
      pb::Message resp;
      resp.set_type(pb::MSG_PRE_VOTE_RESP);
      resp.set_to(m.from());
      resp.set_reject(true);
      Send(std::move(resp));
    }
    return Status::Ok();
  }

  if (type == pb::MSG_PRE_VOTE || type == pb::MSG_VOTE) return HandleVoteRequest(m);
  return (this->*step_)(m);
}

Status Raft::Impl::HandleVoteRequest(const pb::Message& m) {
  // We can grant if we already voted for this candidate (a retransmission), have
  // neither voted nor know a leader in this term, or it is a pre-vote for a
  // future term. Any member answers (also learners: a learner may have been
  // promoted without knowing yet); candidates count only their voters.
  bool can_vote = vote_ == m.from() || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (m.type() == pb::MSG_PRE_VOTE && m.term() > term_);
  pb::Message resp;
  resp.set_type(VoteResponseType(m.type()));
  resp.set_to(m.from());
  if (can_vote && log_.IsUpToDate(m.index(), m.log_term())) {
    // Answer at the request's term: a pre-vote grant must not look like a
    // rejection from an older term to the pre-candidate.
    resp.set_term(m.term());
    Send(std::move(resp));
    if (m.type() == pb::MSG_VOTE) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    resp.set_term(term_);
    resp.set_reject(true);
    Send(std::move(resp));
  }
  return Status::Ok();
}

// ---- roles -------------------------------------------------------------------------

void Raft::Impl::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      cfg_.election_tick +
      static_cast<int>(rng_.Uniform(static_cast<uint64_t>(cfg_.election_tick)));
}

void Raft::Impl::Reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  lease_forfeited_ = false;
  votes_.clear();
  prs_.clear();
  pending_reads_.clear();
}

void Raft::Impl::BecomeFollower(Term term, NodeId lead) {
  step_ = &Impl::StepFollower;
  tick_ = &Impl::TickElection;
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::Impl::BecomePreCandidate() {
  COORD_CHECK_MSG(role_ != Role::kLeader, "a leader cannot become a pre-candidate");
  // Term and vote stay: a pre-candidate only asks whether it could win.
  step_ = &Impl::StepCandidate;
  tick_ = &Impl::TickElection;
  votes_.clear();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
  votes_[id_] = true;
}

void Raft::Impl::BecomeCandidate() {
  COORD_CHECK_MSG(role_ != Role::kLeader, "a leader cannot become a candidate");
  step_ = &Impl::StepCandidate;
  tick_ = &Impl::TickElection;
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
  votes_[id_] = true;
}

void Raft::Impl::BecomeLeader() {
  COORD_CHECK_MSG(role_ == Role::kCandidate, "only a candidate can become leader");
  step_ = &Impl::StepLeader;
  tick_ = &Impl::TickHeartbeat;
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  Index last = log_.LastIndex();
  auto add = [&](NodeId id, bool learner) {
    auto [it, inserted] =
        prs_.try_emplace(id, last + 1, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes);
    it->second.learner = learner;
  };
  for (NodeId v : members_.voters()) add(v, false);
  for (NodeId l : members_.learners()) add(l, true);
  add(id_, members_.IsLearner(id_));  // self, even if (being) removed
  Progress& self = prs_.at(id_);
  self.match = last;
  self.BecomeReplicate();
  self.recent_active = true;
  // An empty entry of the new term: committing it commits everything before it
  // (§5.4.2) and lets ReadIndex and membership changes proceed.
  std::vector<pb::Entry> noop(1);
  noop[0].set_term(term_);
  noop[0].set_index(last + 1);
  noop[0].set_type(pb::ENTRY_NORMAL);
  AppendAsLeader(std::move(noop));
}

void Raft::Impl::Campaign() {
  if (role_ == Role::kLeader) return;
  StartCampaign(cfg_.pre_vote ? CampaignType::kPreElection : CampaignType::kElection);
}

void Raft::Impl::StartCampaign(CampaignType type) {
  if (!Promotable()) return;  // learners and non-members never campaign
  // Never wrap the term. Unreachable unless storage was corrupted past the
  // checks at start (messages above kMaxTerm are refused).
  if (term_ >= kMaxTerm) return;
  Term vote_term;
  pb::MessageType msg_type;
  if (type == CampaignType::kPreElection) {
    BecomePreCandidate();
    vote_term = term_ + 1;
    msg_type = pb::MSG_PRE_VOTE;
  } else {
    BecomeCandidate();
    vote_term = term_;
    msg_type = pb::MSG_VOTE;
  }
  if (TallyVotes(members_.voters(), votes_) == VoteResult::kWon) {
    // A single voter wins at once.
    if (type == CampaignType::kPreElection) {
      StartCampaign(CampaignType::kElection);
    } else {
      BecomeLeader();
      BroadcastAppend();
    }
    return;
  }
  Index last = log_.LastIndex();
  Term last_term = log_.LastTerm();
  for (NodeId v : members_.voters()) {
    if (v == id_) continue;
    pb::Message m;
    m.set_type(msg_type);
    m.set_to(v);
    m.set_term(vote_term);
    m.set_index(last);
    m.set_log_term(last_term);
    if (type == CampaignType::kTransfer) m.set_context(kTransferContext);
    Send(std::move(m));
  }
}

// ---- ticks -------------------------------------------------------------------------

void Raft::Impl::Tick() { (this->*tick_)(); }

void Raft::Impl::TickElection() {
  if (election_elapsed_ < INT_MAX) ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    StartCampaign(cfg_.pre_vote ? CampaignType::kPreElection : CampaignType::kElection);
  }
}

void Raft::Impl::TickHeartbeat() {
  ++ticks_;
  ++heartbeat_elapsed_;
  ++election_elapsed_;

  // A snapshot transfer without progress for an election timeout starts over.
  for (auto& [id, pr] : prs_) {
    if (id == id_ || pr.state != ProgressState::kSnapshot) continue;
    if (++pr.snapshot_idle_ticks >= cfg_.election_tick) {
      pr.BecomeProbe();
      pr.next = pr.match + 1;
      MaybeSendAppend(id, pr, true);
    }
  }

  if (election_elapsed_ >= cfg_.election_tick) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      if (!QuorumActive()) {
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : prs_) pr.recent_active = id == id_;
    }
    if (lead_transferee_ != kNoNode) AbortLeaderTransfer();
  }

  if (heartbeat_elapsed_ >= cfg_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

bool Raft::Impl::QuorumActive() const {
  size_t active = 0;
  for (NodeId v : members_.voters()) {
    if (v == id_) {
      ++active;
      continue;
    }
    auto it = prs_.find(v);
    if (it != prs_.end() && it->second.recent_active) ++active;
  }
  return !members_.voters().empty() && active >= MajorityOf(members_.voters().size());
}

// ---- step functions ----------------------------------------------------------------

Status Raft::Impl::StepFollower(pb::Message& m) {
  switch (m.type()) {
    case pb::MSG_APPEND:
      election_elapsed_ = 0;
      lead_ = m.from();
      return HandleAppend(m);
    case pb::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleHeartbeat(m);
      return Status::Ok();
    case pb::MSG_SNAPSHOT:
      election_elapsed_ = 0;
      lead_ = m.from();
      return HandleSnapshotChunk(m);
    case pb::MSG_TIMEOUT_NOW:
      // The leader hands over: campaign at once, without a pre-vote, with the
      // "transfer" context that overrides the others' leader stickiness.
      StartCampaign(CampaignType::kTransfer);
      return Status::Ok();
    case pb::MSG_READ_INDEX_RESP:
      read_states_.push_back(ReadState{m.index(), std::move(*m.mutable_context())});
      return Status::Ok();
    default:
      return Status::Ok();  // responses meant for another role: stale, ignore
  }
}

Status Raft::Impl::StepCandidate(pb::Message& m) {
  switch (m.type()) {
    case pb::MSG_APPEND:
      BecomeFollower(m.term(), m.from());
      return HandleAppend(m);
    case pb::MSG_HEARTBEAT:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return Status::Ok();
    case pb::MSG_SNAPSHOT:
      BecomeFollower(m.term(), m.from());
      return HandleSnapshotChunk(m);
    case pb::MSG_TIMEOUT_NOW:
      // A pre-candidate has not left the leader's term: honour the hand-over.
      if (role_ == Role::kPreCandidate) StartCampaign(CampaignType::kTransfer);
      return Status::Ok();
    case pb::MSG_PRE_VOTE_RESP:
    case pb::MSG_VOTE_RESP: {
      bool pre = role_ == Role::kPreCandidate;
      if (pre != (m.type() == pb::MSG_PRE_VOTE_RESP)) return Status::Ok();  // stale
      votes_.try_emplace(m.from(), !m.reject());  // the first answer counts
      switch (TallyVotes(members_.voters(), votes_)) {
        case VoteResult::kWon:
          if (pre) {
            StartCampaign(CampaignType::kElection);
          } else {
            BecomeLeader();
            BroadcastAppend();
          }
          break;
        case VoteResult::kLost:
          BecomeFollower(term_, kNoNode);
          break;
        case VoteResult::kPending:
          break;
      }
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

Status Raft::Impl::StepLeader(pb::Message& m) {
  auto it = prs_.find(m.from());
  if (it == prs_.end()) return Status::Ok();  // not (or no longer) a member
  Progress& pr = it->second;
  switch (m.type()) {
    case pb::MSG_APPEND_RESP:
      pr.recent_active = true;
      HandleAppendResponse(m, pr);
      return Status::Ok();
    case pb::MSG_HEARTBEAT_RESP:
      pr.recent_active = true;
      HandleHeartbeatResponse(m, pr);
      return Status::Ok();
    case pb::MSG_SNAPSHOT_RESP:
      pr.recent_active = true;
      HandleSnapshotResponse(m, pr);
      return Status::Ok();
    case pb::MSG_READ_INDEX:
      HandleReadIndexRequest(m.from(), std::move(*m.mutable_context()));
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

}  // namespace coord::raft
