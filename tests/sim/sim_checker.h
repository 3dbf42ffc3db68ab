// SimChecker: the safety invariants of a simulation run, checked incrementally.
//
// The cluster reports what each member does (persists, applies, restores, becomes
// leader, advances its commit index) and the checker compares it against global
// history recorded over the whole run:
//
//  (1) Election safety: at most one leader per term (term -> leader, all time).
//  (2) Log matching: every persisted entry (index, term) is recorded with the
//      hash of its payload and the term of the entry before it. Two members that
//      persist the same (index, term) must agree on both; by induction on the
//      index, agreeing on the predecessor's term everywhere means whole prefixes
//      agree, so this per-entry check covers the full property.
//  (3) Leader completeness: each commit observation (member M saw commit index c
//      while in term t) is a watermark: every leader of a term > t must hold the
//      entry at c with the same term (which by (2) implies the whole prefix).
//  (4) State machine safety: the applied sequence is global (index -> term,
//      payload hash, chain); every member's application must agree with it and a
//      snapshot restore must land on a recorded (index, term, chain).
//  (5) Votes: a member's persisted vote for a term never changes.
//
// The first violation is kept (later ones are usually consequences).
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coord/consensus/types.h"

namespace coord::raft::sim {

class SimChecker {
 public:
  SimChecker();

  bool failed() const { return !violation_.empty(); }
  const std::string& violation() const { return violation_; }
  // Records a violation (only the first one is kept).
  void Fail(const std::string& what);

  // (1) `id` is leader in `term`.
  void OnLeader(NodeId id, Term term);

  // (2) `id` persisted `entry`, whose predecessor in its log has term `prev_term`.
  void OnPersistEntry(NodeId id, const pb::Entry& entry, Term prev_term);

  // (5) `id` persisted hard state `hs`.
  void OnPersistHardState(NodeId id, const pb::HardState& hs);

  // (4) `id` applied `entry`; its chain is now `chain_after`. Returns true when
  // this extended the global applied sequence (a first application).
  bool OnApply(NodeId id, const pb::Entry& entry, uint64_t chain_after);
  // (4) `id` restored a snapshot at (index, term) with state chain `chain`.
  void OnRestore(NodeId id, Index index, Term term, uint64_t chain);

  // (3) `id`, in term `observer_term`, has commit index `commit`, and the entry
  // there has term `entry_term` (0 when the member no longer knows it).
  void OnCommit(NodeId id, Term observer_term, Index commit, Term entry_term);

  // (3) Checks the log of `id`, leader of `term`, against every watermark of an
  // earlier term. `term_at(i)` is the leader's term at index i (0 if unknown);
  // indexes <= `snapshot_index` are covered by its snapshot.
  void CheckLeaderLog(NodeId id, Term term, const std::function<Term(Index)>& term_at,
                      Index snapshot_index);

  // Increases whenever a new watermark is recorded (so leaders are re-checked).
  uint64_t watermark_version() const { return watermark_version_; }

  // The highest commit index any member has reported.
  Index max_commit() const { return max_commit_; }
  // The highest index applied by any member.
  Index max_applied() const { return applied_.size() - 1; }
  // Global applied record at `index` (index <= max_applied()).
  Term applied_term(Index index) const { return applied_[index].term; }
  uint64_t applied_hash(Index index) const { return applied_[index].hash; }
  uint64_t applied_chain(Index index) const { return applied_[index].chain; }

  size_t leader_terms() const { return leaders_.size(); }

 private:
  struct LogRec {
    uint64_t hash;
    Term prev_term;
    NodeId first_by;
  };
  struct AppliedRec {
    Term term;
    uint64_t hash;
    uint64_t chain;
  };

  std::string violation_;
  std::map<Term, NodeId> leaders_;
  std::map<std::pair<Index, Term>, LogRec> log_;
  std::map<std::pair<NodeId, Term>, NodeId> votes_;
  std::vector<AppliedRec> applied_;  // [0] is the empty prefix
  // observer term -> (highest commit index seen in that term, its entry's term)
  std::map<Term, std::pair<Index, Term>> watermarks_;
  uint64_t watermark_version_ = 0;
  Index max_commit_ = 0;
};

}  // namespace coord::raft::sim
