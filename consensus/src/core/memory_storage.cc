// MemoryStorage: see memory_storage.h.
//
// Invariant: entries_[k].index() == offset_ + 1 + k for every k, i.e. the log is
// contiguous right after the compaction point (offset_, offset_term_).
#include "coord/consensus/memory_storage.h"

#include <string>
#include <utility>

namespace coord::raft {

MemoryStorage::MemoryStorage() = default;

pb::HardState MemoryStorage::HardState() const { return hard_state_; }

pb::SnapshotMetadata MemoryStorage::SnapshotMetadata() const { return snapshot_.metadata(); }

Index MemoryStorage::FirstIndex() const { return offset_ + 1; }

Index MemoryStorage::LastIndex() const { return offset_ + entries_.size(); }

Result<std::vector<pb::Entry>> MemoryStorage::Entries(Index lo, Index hi,
                                                      uint64_t max_bytes) const {
  if (lo < FirstIndex()) {
    return Status::Compacted("entries below " + std::to_string(FirstIndex()) +
                             " are compacted (asked from " + std::to_string(lo) + ")");
  }
  if (hi > LastIndex() + 1) {
    return Status::Unavailable("entries up to " + std::to_string(hi - 1) +
                               " asked, last index is " + std::to_string(LastIndex()));
  }
  std::vector<pb::Entry> out;
  if (lo >= hi) return out;
  out.reserve(hi - lo);
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const pb::Entry& e = entries_[i - offset_ - 1];
    bytes += e.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<Term> MemoryStorage::TermAt(Index i) const {
  if (i < offset_) {
    return Status::Compacted("term of " + std::to_string(i) + " is compacted (first index " +
                             std::to_string(FirstIndex()) + ")");
  }
  if (i > LastIndex()) {
    return Status::Unavailable("term of " + std::to_string(i) + " asked, last index is " +
                               std::to_string(LastIndex()));
  }
  if (i == offset_) return offset_term_;
  return entries_[i - offset_ - 1].term();
}

Result<pb::Snapshot> MemoryStorage::GetSnapshot() const {
  if (!has_snapshot_) return Status::Unavailable("no snapshot");
  return snapshot_;
}

Status MemoryStorage::Save(const PersistBatch& batch) {
  // Validate everything first so a rejected batch changes nothing (atomicity).
  Index snap_index = offset_;
  if (batch.snapshot != nullptr) {
    snap_index = batch.snapshot->metadata().index();
    if (has_snapshot_ && snap_index < snapshot_.metadata().index()) {
      return Status::InvalidArgument("snapshot at " + std::to_string(snap_index) +
                                     " is older than the current one at " +
                                     std::to_string(snapshot_.metadata().index()));
    }
  }
  if (batch.entries != nullptr && !batch.entries->empty()) {
    const auto& es = *batch.entries;
    Index first = es.front().index();
    Index last_after_snapshot = batch.snapshot != nullptr ? snap_index : LastIndex();
    if (first <= snap_index) {
      return Status::InvalidArgument("entry " + std::to_string(first) +
                                     " is at or below the compaction point " +
                                     std::to_string(snap_index));
    }
    if (first > last_after_snapshot + 1) {
      return Status::InvalidArgument("entry " + std::to_string(first) + " leaves a gap after " +
                                     std::to_string(last_after_snapshot));
    }
    for (size_t k = 1; k < es.size(); ++k) {
      if (es[k].index() != first + k) {
        return Status::InvalidArgument("entries are not contiguous at " +
                                       std::to_string(es[k].index()));
      }
    }
  }

  if (batch.snapshot != nullptr) {
    snapshot_ = *batch.snapshot;
    has_snapshot_ = true;
    offset_ = snapshot_.metadata().index();
    offset_term_ = snapshot_.metadata().term();
    entries_.clear();
  }
  if (batch.entries != nullptr && !batch.entries->empty()) {
    const auto& es = *batch.entries;
    Index first = es.front().index();
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(first - offset_ - 1),
                   entries_.end());
    for (const pb::Entry& e : es) entries_.push_back(e);
  }
  if (batch.hard_state != nullptr) hard_state_ = *batch.hard_state;
  ++save_count_;
  return Status::Ok();
}

Status MemoryStorage::CreateSnapshot(const pb::SnapshotMetadata& metadata, std::string data,
                                     uint64_t keep_entries) {
  Index index = metadata.index();
  if (has_snapshot_ && index < snapshot_.metadata().index()) {
    return Status::InvalidArgument("snapshot at " + std::to_string(index) +
                                   " is older than the current one at " +
                                   std::to_string(snapshot_.metadata().index()));
  }
  if (index > hard_state_.commit()) {
    return Status::InvalidArgument("snapshot at " + std::to_string(index) +
                                   " is above the commit index " +
                                   std::to_string(hard_state_.commit()));
  }
  if (index > LastIndex() || index < offset_) {
    return Status::InvalidArgument("snapshot at " + std::to_string(index) +
                                   " is outside the log [" + std::to_string(offset_) + ", " +
                                   std::to_string(LastIndex()) + "]");
  }
  Result<Term> term = TermAt(index);
  if (!term.ok()) return term.status();
  if (metadata.term() != *term) {
    return Status::InvalidArgument("snapshot term " + std::to_string(metadata.term()) +
                                   " does not match the log's term " + std::to_string(*term) +
                                   " at " + std::to_string(index));
  }
  snapshot_.mutable_metadata()->CopyFrom(metadata);
  snapshot_.set_data(std::move(data));
  has_snapshot_ = true;
  // Compact up to index - keep_entries, never backwards.
  Index compact = index > keep_entries ? index - keep_entries : 0;
  if (compact > offset_) {
    Term compact_term = entries_[compact - offset_ - 1].term();
    entries_.erase(entries_.begin(),
                   entries_.begin() + static_cast<std::ptrdiff_t>(compact - offset_));
    offset_ = compact;
    offset_term_ = compact_term;
  }
  return Status::Ok();
}

}  // namespace coord::raft
