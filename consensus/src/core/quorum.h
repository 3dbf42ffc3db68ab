// Pure quorum arithmetic over the voters of one configuration.
//
// No state, no I/O: these functions take the voters' acknowledged indexes or votes
// and return what a majority agrees on. Learners are never passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "coord/consensus/types.h"

namespace coord::raft {

// Number of voters that make a majority of `voters` (0 voters -> 1, never reached).
inline size_t MajorityOf(size_t voters) { return voters / 2 + 1; }

// The largest value v such that a majority of `values` (one per voter) is >= v.
// Used for the commit index (values = match indexes) and the lease (values = ticks).
// `values` is reordered. Returns 0 for an empty list.
uint64_t QuorumValue(std::vector<uint64_t>& values);

enum class VoteResult { kPending, kWon, kLost };

// Tallies `votes` (node -> granted) over `voters`; votes of non-voters are ignored.
// Won once a majority granted, lost once a majority can no longer be reached.
// An empty voter set never wins.
VoteResult TallyVotes(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& votes);

}  // namespace coord::raft
