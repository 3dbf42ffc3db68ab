// Membership bookkeeping of the node driver (not of the core).
//
// The core tracks the configuration as of its last log entry. To write a snapshot
// the driver needs the configuration as of the *applied* index, so it replays the
// applied ConfChange entries itself with the same rules.
#pragma once

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft::node_internal {

// Applies `change` to `state` (voters and learners kept sorted and disjoint):
// ADD_VOTER adds a voter (promoting a learner), ADD_LEARNER adds a learner,
// REMOVE_NODE removes the member from both lists.
void ApplyConfChange(const pb::ConfChange& change, pb::ConfState* state);

// Parses an ENTRY_CONF_CHANGE entry's data. Errors: kCorruption.
Result<pb::ConfChange> ParseConfChange(const pb::Entry& entry);

}  // namespace coord::raft::node_internal
