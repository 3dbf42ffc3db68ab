#include "node/membership.h"

#include <algorithm>
#include <string>

namespace coord::raft::node_internal {
namespace {

void Remove(google::protobuf::RepeatedField<uint64_t>* ids, NodeId id) {
  auto it = std::find(ids->begin(), ids->end(), id);
  if (it != ids->end()) ids->erase(it);
}

void InsertSorted(google::protobuf::RepeatedField<uint64_t>* ids, NodeId id) {
  if (std::find(ids->begin(), ids->end(), id) != ids->end()) return;
  ids->Add(id);
  std::sort(ids->begin(), ids->end());
}

}  // namespace

void ApplyConfChange(const pb::ConfChange& change, pb::ConfState* state) {
  const NodeId id = change.node_id();
  switch (change.type()) {
    case pb::CONF_ADD_VOTER:
      Remove(state->mutable_learners(), id);
      InsertSorted(state->mutable_voters(), id);
      break;
    case pb::CONF_ADD_LEARNER:
      Remove(state->mutable_voters(), id);
      InsertSorted(state->mutable_learners(), id);
      break;
    case pb::CONF_REMOVE_NODE:
      Remove(state->mutable_voters(), id);
      Remove(state->mutable_learners(), id);
      break;
    default:
      break;  // unknown types are rejected by the core before they reach the log
  }
}

Result<pb::ConfChange> ParseConfChange(const pb::Entry& entry) {
  pb::ConfChange change;
  if (!change.ParseFromString(entry.data())) {
    return Status::Corruption("conf change entry " + std::to_string(entry.index()) +
                              " does not parse");
  }
  return change;
}

}  // namespace coord::raft::node_internal
