#include "storage/term_index.h"

#include <algorithm>

namespace coord::raft::storage_internal {

void TermIndex::Append(Index index, Term term) {
  if (runs_.empty()) {
    runs_.push_back({index, term});
    first_ = last_ = index;
    return;
  }
  last_ = index;
  if (runs_.back().term != term) runs_.push_back({index, term});
}

void TermIndex::TruncateFrom(Index index) {
  if (runs_.empty() || index > last_) return;
  if (index <= first_) {
    Clear();
    return;
  }
  while (runs_.back().start >= index) runs_.pop_back();  // runs_.front().start <= first_ < index
  last_ = index - 1;
}

void TermIndex::CompactTo(Index index) {
  if (runs_.empty() || index <= first_) return;
  if (index > last_) {
    Clear();
    return;
  }
  // Drop runs that end before `index`: run k ends at runs_[k + 1].start - 1.
  while (runs_.size() > 1 && runs_[1].start <= index) runs_.pop_front();
  first_ = index;
}

void TermIndex::Clear() {
  runs_.clear();
  first_ = last_ = 0;
}

std::optional<Term> TermIndex::TermOf(Index index) const {
  if (runs_.empty() || index < first_ || index > last_) return std::nullopt;
  // The last run whose start is <= index.
  auto it = std::upper_bound(runs_.begin(), runs_.end(), index,
                             [](Index i, const Run& run) { return i < run.start; });
  return std::prev(it)->term;
}

}  // namespace coord::raft::storage_internal
