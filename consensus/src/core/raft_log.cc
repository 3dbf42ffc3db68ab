#include "core/raft_log.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/check.h"

namespace coord::raft {

RaftLog::RaftLog(const LogStorage* storage, Index committed, Index applied)
    : storage_(storage),
      unstable_offset_(storage->LastIndex() + 1),
      persist_from_(unstable_offset_),
      committed_(committed),
      applied_(std::max(applied, storage->SnapshotMetadata().index())),
      applying_(applied_) {}

Index RaftLog::FirstIndex() const {
  if (snapshot_) return snapshot_->metadata().index() + 1;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const { return unstable_offset_ + entries_.size() - 1; }

Term RaftLog::LastTerm() const { return TermOrZero(LastIndex()); }

Result<Term> RaftLog::TermOf(Index i) const {
  Index dummy = FirstIndex() - 1;
  if (i < dummy) {
    return Status::Compacted("term of " + std::to_string(i) + " is compacted");
  }
  if (i > LastIndex()) {
    return Status::Unavailable("term of " + std::to_string(i) + " is beyond the log");
  }
  if (i >= unstable_offset_) return entries_[i - unstable_offset_].term();
  if (snapshot_ && i == snapshot_->metadata().index()) return snapshot_->metadata().term();
  return storage_->TermAt(i);
}

Term RaftLog::TermOrZero(Index i) const {
  Result<Term> t = TermOf(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  Result<Term> got = TermOf(i);
  return got.ok() && *got == t;
}

Result<std::vector<pb::Entry>> RaftLog::Entries(Index lo, Index hi, uint64_t max_bytes) const {
  if (lo < FirstIndex()) {
    return Status::Compacted("entries from " + std::to_string(lo) + " are compacted");
  }
  hi = std::min(hi, LastIndex() + 1);
  std::vector<pb::Entry> out;
  if (lo >= hi) return out;
  uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    Index stable_hi = std::min(hi, unstable_offset_);
    Result<std::vector<pb::Entry>> stored = storage_->Entries(lo, stable_hi, max_bytes);
    if (!stored.ok()) return stored.status();
    out = std::move(*stored);
    if (out.size() < stable_hi - lo) return out;  // the byte limit was reached
    if (stable_hi == hi) return out;
    for (const pb::Entry& e : out) bytes += e.ByteSizeLong();
  }
  out.reserve(out.size() + (hi - std::max(lo, unstable_offset_)));
  for (Index i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const pb::Entry& e = entries_[i - unstable_offset_];
    bytes += e.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<size_t> RaftLog::CopyEntriesTo(Index lo, Index hi, uint64_t max_bytes,
                                      google::protobuf::RepeatedPtrField<pb::Entry>* out,
                                      uint64_t* bytes) const {
  if (lo < FirstIndex()) {
    return Status::Compacted("entries from " + std::to_string(lo) + " are compacted");
  }
  hi = std::min(hi, LastIndex() + 1);
  if (lo >= hi) return size_t{0};
  if (lo < unstable_offset_) {
    // Rare (a lagging follower): go through storage.
    Result<std::vector<pb::Entry>> ents = Entries(lo, hi, max_bytes);
    if (!ents.ok()) return ents.status();
    out->Reserve(out->size() + static_cast<int>(ents->size()));
    for (pb::Entry& e : *ents) {
      *bytes += e.ByteSizeLong();
      *out->Add() = std::move(e);
    }
    return ents->size();
  }
  // Hot path (pipelining fresh proposals): copy from the unstable entries.
  out->Reserve(out->size() + static_cast<int>(hi - lo));
  uint64_t sum = 0;
  size_t n = 0;
  for (Index i = lo; i < hi; ++i) {
    const pb::Entry& e = entries_[i - unstable_offset_];
    uint64_t size = e.ByteSizeLong();
    if (n > 0 && sum + size > max_bytes) break;
    sum += size;
    *out->Add() = e;
    ++n;
  }
  *bytes += sum;
  return n;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  Term my_term = LastTerm();
  return last_term > my_term || (last_term == my_term && last_index >= LastIndex());
}

Index RaftLog::FindConflict(const google::protobuf::RepeatedPtrField<pb::Entry>& entries) const {
  for (const pb::Entry& e : entries) {
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

Index RaftLog::FindConflictByTerm(Index index, Term term) const {
  if (index > LastIndex()) return index;
  for (;;) {
    Result<Term> t = TermOf(index);
    if (!t.ok() || *t <= term || index == 0) return index;
    --index;
  }
}

void RaftLog::Append(pb::Entry&& entry) {
  Index index = entry.index();
  COORD_CHECK_MSG(index == LastIndex() + 1, "append of a single entry must extend the log");
  entries_.push_back(std::move(entry));
}

void RaftLog::Append(std::vector<pb::Entry>&& entries) {
  if (entries.empty()) return;
  Index first = entries.front().index();
  COORD_CHECK_MSG(first <= LastIndex() + 1, "append would leave a gap");
  COORD_CHECK_MSG(first > committed_, "append would truncate committed entries");
  if (first < unstable_offset_) {
    // Replaces entries that are (or are being) persisted: the new suffix goes to
    // storage over them; stale storage entries at >= first are never read again.
    entries_.clear();
    unstable_offset_ = first;
  } else if (first < unstable_offset_ + entries_.size()) {
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(first - unstable_offset_),
                   entries_.end());
  }
  persist_from_ = std::min(persist_from_, first);
  for (pb::Entry& e : entries) entries_.push_back(std::move(e));
}

void RaftLog::Restore(pb::Snapshot&& snapshot) {
  Index index = snapshot.metadata().index();
  COORD_CHECK_MSG(index > committed_, "restoring a snapshot older than the commit index");
  entries_.clear();
  unstable_offset_ = index + 1;
  persist_from_ = unstable_offset_;
  committed_ = index;
  applying_ = std::max(applying_, index);
  snapshot_ = std::move(snapshot);
  snapshot_handed_out_ = false;
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  COORD_CHECK_MSG(index <= LastIndex(), "commit index beyond the last index");
  committed_ = index;
}

bool RaftLog::HasEntriesToPersist() const { return persist_from_ <= LastIndex(); }

std::vector<pb::Entry> RaftLog::TakeEntriesToPersist() {
  std::vector<pb::Entry> out;
  Index from = std::max(persist_from_, unstable_offset_);
  Index last = LastIndex();
  if (from > last) return out;
  out.reserve(last - from + 1);
  for (Index i = from; i <= last; ++i) out.push_back(entries_[i - unstable_offset_]);
  persist_from_ = last + 1;
  return out;
}

pb::Snapshot RaftLog::SnapshotToPersist() {
  snapshot_handed_out_ = true;
  return *snapshot_;
}

std::vector<pb::Entry> RaftLog::TakeEntriesToApply(uint64_t max_bytes) {
  Result<std::vector<pb::Entry>> ents = Entries(applying_ + 1, committed_ + 1, max_bytes);
  COORD_CHECK_MSG(ents.ok(),
                  "committed entries not yet applied are unavailable: " + ents.status().ToString());
  if (!ents->empty()) applying_ = ents->back().index();
  return std::move(*ents);
}

void RaftLog::StableTo(Index index, Term term) {
  if (index < unstable_offset_ || index > LastIndex()) return;
  // A different term means the entry was replaced after it was handed out; the
  // replacement is persisted by a later Ready.
  if (entries_[index - unstable_offset_].term() != term) return;
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index - unstable_offset_ + 1));
  unstable_offset_ = index + 1;
  persist_from_ = std::max(persist_from_, unstable_offset_);
}

void RaftLog::StableSnapshotTo(Index index) {
  if (snapshot_ && snapshot_->metadata().index() == index && snapshot_handed_out_) {
    snapshot_.reset();
    snapshot_handed_out_ = false;
  }
  applied_ = std::max(applied_, index);
  applying_ = std::max(applying_, applied_);
}

void RaftLog::AppliedTo(Index index) {
  COORD_CHECK_MSG(index <= committed_, "applied beyond the commit index");
  applied_ = std::max(applied_, index);
}

}  // namespace coord::raft
