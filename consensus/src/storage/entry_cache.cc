#include "storage/entry_cache.h"

namespace coord::raft::storage_internal {

void EntryCache::Append(const std::vector<pb::Entry>& entries) {
  if (entries.empty() || max_bytes_ == 0) return;
  Index first_new = entries.front().index();
  TruncateFrom(first_new);
  if (!entries_.empty() && LastIndex() + 1 != first_new) Clear();
  // Skip a prefix that would be evicted at once anyway.
  size_t start = entries.size();
  uint64_t tail_bytes = 0;
  while (start > 0 && tail_bytes + entries[start - 1].ByteSizeLong() <= max_bytes_) {
    --start;
    tail_bytes += entries[start].ByteSizeLong();
  }
  if (start > 0) Clear();  // the cached entries are older than a skipped one
  for (size_t i = start; i < entries.size(); ++i) {
    bytes_ += entries[i].ByteSizeLong();
    entries_.push_back(entries[i]);
  }
  Evict();
}

void EntryCache::CompactTo(Index index) {
  while (!entries_.empty() && entries_.front().index() < index) {
    bytes_ -= entries_.front().ByteSizeLong();
    entries_.pop_front();
  }
}

void EntryCache::Clear() {
  entries_.clear();
  bytes_ = 0;
}

const pb::Entry* EntryCache::Get(Index index) const {
  if (entries_.empty() || index < FirstIndex() || index > LastIndex()) return nullptr;
  return &entries_[index - FirstIndex()];
}

void EntryCache::TruncateFrom(Index index) {
  while (!entries_.empty() && entries_.back().index() >= index) {
    bytes_ -= entries_.back().ByteSizeLong();
    entries_.pop_back();
  }
}

void EntryCache::Evict() {
  while (bytes_ > max_bytes_ && !entries_.empty()) {
    bytes_ -= entries_.front().ByteSizeLong();
    entries_.pop_front();
  }
}

}  // namespace coord::raft::storage_internal
