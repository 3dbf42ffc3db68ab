// TermIndex: the term of every log entry, kept in memory as runs of equal terms.
//
// Raft terms change rarely (once per election), so a log of millions of entries
// is a handful of runs: LevelDbStorage answers TermAt() from here without a disk
// read. Not thread-safe.
#pragma once

#include <deque>
#include <optional>

#include "coord/consensus/types.h"

namespace coord::raft::storage_internal {

class TermIndex {
 public:
  // Starts empty, covering no index; the next Append may use any index.
  TermIndex() = default;

  // Records entry (index, term). Precondition (checked by the caller): the index
  // is empty, or index == LastIndex() + 1 and term >= the last term.
  void Append(Index index, Term term);
  // Forgets entries with index >= `index`.
  void TruncateFrom(Index index);
  // Forgets entries with index < `index` (log compaction).
  void CompactTo(Index index);
  void Clear();

  bool empty() const { return runs_.empty(); }
  // Valid when !empty().
  Index FirstIndex() const { return first_; }
  Index LastIndex() const { return last_; }
  Term LastTerm() const { return runs_.back().term; }

  // The term of `index`, or nullopt when it is not covered.
  std::optional<Term> TermOf(Index index) const;

  size_t RunCount() const { return runs_.size(); }

 private:
  struct Run {
    Index start;  // first index of the run; the run ends where the next starts
    Term term;
  };
  // Invariants when non-empty: runs_.front().start <= first_ (a compacted
  // run keeps its old start); starts strictly increase; terms strictly increase;
  // runs_.back().start <= last_.
  std::deque<Run> runs_;
  Index first_ = 0;
  Index last_ = 0;
};

}  // namespace coord::raft::storage_internal
