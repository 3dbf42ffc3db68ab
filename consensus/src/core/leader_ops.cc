// Leader operations: proposals, membership changes, leadership transfer.
#include <string>
#include <utility>

#include "core/raft_impl.h"

namespace coord::raft {

Status Raft::Impl::CheckCanPropose() const {
  if (role_ != Role::kLeader) {
    if (lead_ == kNoNode) return Status::NotLeader("not the leader; no leader known");
    return Status::NotLeader("not the leader; leader is " + std::to_string(lead_));
  }
  if (lead_transferee_ != kNoNode) {
    return Status::Aborted("leadership transfer to " + std::to_string(lead_transferee_) +
                           " in progress");
  }
  return Status::Ok();
}

Result<Index> Raft::Impl::Propose(std::string data) {
  COORD_RETURN_IF_ERROR(CheckCanPropose());
  std::vector<pb::Entry> ents(1);
  Index index = log_.LastIndex() + 1;
  ents[0].set_term(term_);
  ents[0].set_index(index);
  ents[0].set_type(pb::ENTRY_NORMAL);
  ents[0].set_data(std::move(data));
  AppendAsLeader(std::move(ents));
  BroadcastAppend();
  return index;
}

Result<Index> Raft::Impl::ProposeBatch(std::vector<std::string> data) {
  COORD_RETURN_IF_ERROR(CheckCanPropose());
  if (data.empty()) return Status::InvalidArgument("empty proposal batch");
  Index first = log_.LastIndex() + 1;
  std::vector<pb::Entry> ents(data.size());
  for (size_t k = 0; k < data.size(); ++k) {
    ents[k].set_term(term_);
    ents[k].set_index(first + k);
    ents[k].set_type(pb::ENTRY_NORMAL);
    ents[k].set_data(std::move(data[k]));
  }
  AppendAsLeader(std::move(ents));
  BroadcastAppend();
  return first;
}

Result<Index> Raft::Impl::ProposeConfChange(const pb::ConfChange& change) {
  COORD_RETURN_IF_ERROR(CheckCanPropose());
  COORD_RETURN_IF_ERROR(members_.Validate(change));
  if (members_.LastChangeIndex() > log_.committed()) {
    return Status::Unavailable("another membership change (entry " +
                               std::to_string(members_.LastChangeIndex()) +
                               ") is not committed yet");
  }
  if (!CommittedInCurrentTerm()) {
    return Status::Unavailable("leader has not yet committed an entry of its term");
  }
  std::vector<pb::Entry> ents(1);
  Index index = log_.LastIndex() + 1;
  ents[0].set_term(term_);
  ents[0].set_index(index);
  ents[0].set_type(pb::ENTRY_CONF_CHANGE);
  ents[0].set_data(change.SerializeAsString());
  AppendAsLeader(std::move(ents));
  BroadcastAppend();
  StepDownIfRemoved();
  return index;
}

Status Raft::Impl::TransferLeadership(NodeId target) {
  if (role_ != Role::kLeader) {
    return Status::NotLeader(lead_ == kNoNode
                                 ? "not the leader; no leader known"
                                 : "not the leader; leader is " + std::to_string(lead_));
  }
  if (!members_.IsVoter(target)) {
    return Status::InvalidArgument("transfer target " + std::to_string(target) + " is not a voter");
  }
  if (target == id_ || target == lead_transferee_) return Status::Ok();
  lead_transferee_ = target;
  // The transfer is abandoned after an election timeout (see TickHeartbeat).
  election_elapsed_ = 0;
  Progress& pr = prs_.at(target);
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(target);
  } else {
    MaybeSendAppend(target, pr, true);
  }
  return Status::Ok();
}

void Raft::Impl::SendTimeoutNow(NodeId to) {
  lease_forfeited_ = true;
  pb::Message m;
  m.set_type(pb::MSG_TIMEOUT_NOW);
  m.set_to(to);
  Send(std::move(m));
}

void Raft::Impl::ReportUnreachable(NodeId id) {
  if (role_ != Role::kLeader) return;
  auto it = prs_.find(id);
  if (it == prs_.end() || id == id_) return;
  if (it->second.state == ProgressState::kReplicate) it->second.BecomeProbe();
}

}  // namespace coord::raft
