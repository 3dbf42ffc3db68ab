#include "core/membership.h"

#include <algorithm>

namespace coord::raft {
namespace {

void InsertSorted(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it == v.end() || *it != id) v.insert(it, id);
}

void EraseSorted(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it != v.end() && *it == id) v.erase(it);
}

bool ContainsSorted(const std::vector<NodeId>& v, NodeId id) {
  return std::binary_search(v.begin(), v.end(), id);
}

}  // namespace

void Membership::Reset(const pb::ConfState& base, Index base_index) {
  base_ = base;
  base_index_ = base_index;
  changes_.clear();
  Recompute();
}

Status Membership::AppendEntry(Index index, const std::string& data) {
  pb::ConfChange change;
  if (!change.ParseFromString(data)) {
    return Status::InvalidArgument("entry " + std::to_string(index) + " is not a valid ConfChange");
  }
  // Keep the map ordered by index; a re-append at an index we already hold
  // (after a truncation the caller forgot) replaces from there on.
  TruncateFrom(index);
  changes_.emplace(index, change);
  Apply(change);
  return Status::Ok();
}

bool Membership::TruncateFrom(Index index) {
  auto it = changes_.lower_bound(index);
  if (it == changes_.end()) return false;
  changes_.erase(it, changes_.end());
  Recompute();
  return true;
}

void Membership::Recompute() {
  voters_.assign(base_.voters().begin(), base_.voters().end());
  learners_.assign(base_.learners().begin(), base_.learners().end());
  std::sort(voters_.begin(), voters_.end());
  voters_.erase(std::unique(voters_.begin(), voters_.end()), voters_.end());
  std::sort(learners_.begin(), learners_.end());
  learners_.erase(std::unique(learners_.begin(), learners_.end()), learners_.end());
  for (const auto& [index, change] : changes_) Apply(change);
}

void Membership::Apply(const pb::ConfChange& change) { ApplyTo(change, voters_, learners_); }

void Membership::ApplyTo(const pb::ConfChange& change, std::vector<NodeId>& voters,
                         std::vector<NodeId>& learners) {
  NodeId id = change.node_id();
  if (id == kNoNode) return;
  switch (change.type()) {
    case pb::CONF_ADD_VOTER:
      EraseSorted(learners, id);
      InsertSorted(voters, id);
      break;
    case pb::CONF_ADD_LEARNER:
      EraseSorted(voters, id);
      InsertSorted(learners, id);
      break;
    case pb::CONF_REMOVE_NODE:
      EraseSorted(voters, id);
      EraseSorted(learners, id);
      break;
    default:
      break;  // unknown types act as no-ops, identically on every member
  }
}

bool Membership::IsVoterSince(NodeId id, Index index) const {
  std::vector<NodeId> voters(base_.voters().begin(), base_.voters().end());
  std::vector<NodeId> learners(base_.learners().begin(), base_.learners().end());
  std::sort(voters.begin(), voters.end());
  std::sort(learners.begin(), learners.end());
  auto it = changes_.begin();
  for (; it != changes_.end() && it->first <= index; ++it) ApplyTo(it->second, voters, learners);
  if (ContainsSorted(voters, id)) return true;
  for (; it != changes_.end(); ++it) {
    ApplyTo(it->second, voters, learners);
    if (ContainsSorted(voters, id)) return true;
  }
  return false;
}

Status Membership::Validate(const pb::ConfChange& change) const {
  NodeId id = change.node_id();
  if (id == kNoNode) return Status::InvalidArgument("conf change names node 0");
  switch (change.type()) {
    case pb::CONF_ADD_VOTER:
      if (IsVoter(id)) {
        return Status::InvalidArgument("node " + std::to_string(id) + " is already a voter");
      }
      return Status::Ok();
    case pb::CONF_ADD_LEARNER:
      if (IsVoter(id)) {
        return Status::InvalidArgument("node " + std::to_string(id) +
                                       " is a voter; demotion is not supported");
      }
      if (IsLearner(id)) {
        return Status::InvalidArgument("node " + std::to_string(id) + " is already a learner");
      }
      return Status::Ok();
    case pb::CONF_REMOVE_NODE:
      if (!IsMember(id)) {
        return Status::InvalidArgument("node " + std::to_string(id) + " is not a member");
      }
      if (IsVoter(id) && voters_.size() == 1) {
        return Status::InvalidArgument("removing node " + std::to_string(id) +
                                       " would leave no voters");
      }
      return Status::Ok();
    default:
      return Status::InvalidArgument("unknown conf change type " +
                                     std::to_string(static_cast<int>(change.type())));
  }
}

bool Membership::IsVoter(NodeId id) const { return ContainsSorted(voters_, id); }

bool Membership::IsLearner(NodeId id) const { return ContainsSorted(learners_, id); }

Result<pb::ConfState> Membership::ConfStateAt(Index index) const {
  if (index < base_index_) {
    return Status::Compacted("membership at " + std::to_string(index) +
                             " is below the snapshot at " + std::to_string(base_index_));
  }
  std::vector<NodeId> voters(base_.voters().begin(), base_.voters().end());
  std::vector<NodeId> learners(base_.learners().begin(), base_.learners().end());
  std::sort(voters.begin(), voters.end());
  std::sort(learners.begin(), learners.end());
  for (auto it = changes_.begin(); it != changes_.end() && it->first <= index; ++it) {
    ApplyTo(it->second, voters, learners);
  }
  pb::ConfState cs;
  for (NodeId v : voters) cs.add_voters(v);
  for (NodeId l : learners) cs.add_learners(l);
  return cs;
}

pb::ConfState Membership::ToConfState() const {
  pb::ConfState cs;
  for (NodeId v : voters_) cs.add_voters(v);
  for (NodeId l : learners_) cs.add_learners(l);
  return cs;
}

}  // namespace coord::raft
