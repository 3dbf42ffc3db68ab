// Membership: the configuration (voters and learners) a member acts on.
//
// Single-server changes take effect as soon as their entry is in the log
// (dissertation §4.1), committed or not. So the current configuration is the
// snapshot's ConfState with every ENTRY_CONF_CHANGE above it applied in order,
// and truncating a change out of the log rolls it back. This class keeps that
// base plus the list of changes above it and recomputes on truncation.
//
// Applying a change from the log is total (never fails): the leader validated it
// when it was proposed, and every member must reach the same result from the
// same log. Add-voter promotes a learner; add-learner demotes a voter; remove
// forgets a node in either role.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

class Membership {
 public:
  Membership() = default;

  // Starts over from `base` (a snapshot's ConfState at `base_index`).
  void Reset(const pb::ConfState& base, Index base_index);

  // Records the change in the entry at `index` (above every recorded change) and
  // applies it. Returns kInvalidArgument (and changes nothing) when `data` does
  // not parse as a ConfChange; such an entry acts as a no-op on every member.
  Status AppendEntry(Index index, const std::string& data);
  // Rolls back every change at index >= `index` (the log was truncated there).
  // Returns true if a change was rolled back.
  bool TruncateFrom(Index index);

  // Checks `change` against the current configuration (the leader's checks
  // before proposing): kInvalidArgument when it makes no sense.
  Status Validate(const pb::ConfChange& change) const;

  // Is `id` a voter in the configuration in effect at `index`, or in any later
  // one (produced by a change above `index`)? With `index` = the commit index
  // this asks: might `id` still be needed as a voter (dissertation §4.1)?
  bool IsVoterSince(NodeId id, Index index) const;

  bool IsVoter(NodeId id) const;
  bool IsLearner(NodeId id) const;
  bool IsMember(NodeId id) const { return IsVoter(id) || IsLearner(id); }
  const std::vector<NodeId>& voters() const { return voters_; }      // ascending
  const std::vector<NodeId>& learners() const { return learners_; }  // ascending
  pb::ConfState ToConfState() const;
  // The configuration in effect at `index` (changes at or below it applied).
  // kCompacted when `index` is below the base (snapshot) index.
  Result<pb::ConfState> ConfStateAt(Index index) const;
  // Index of the newest change above the base (0 if none).
  Index LastChangeIndex() const { return changes_.empty() ? 0 : changes_.rbegin()->first; }

 private:
  void Recompute();
  void Apply(const pb::ConfChange& change);
  static void ApplyTo(const pb::ConfChange& change, std::vector<NodeId>& voters,
                      std::vector<NodeId>& learners);

  pb::ConfState base_;
  Index base_index_ = 0;
  std::map<Index, pb::ConfChange> changes_;
  std::vector<NodeId> voters_;
  std::vector<NodeId> learners_;
};

}  // namespace coord::raft
