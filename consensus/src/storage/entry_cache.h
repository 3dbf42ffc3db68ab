// EntryCache: the most recent log entries, kept in memory up to a byte budget.
//
// A leader mostly reads the tail of its log (replicating fresh entries to
// followers), so LevelDbStorage serves those reads from here. The cache always
// holds a *suffix* of the log: entries [FirstIndex(), LastIndex()] with
// LastIndex() equal to the log's last index (or nothing). Older entries are
// evicted first when the budget is exceeded. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "coord/consensus/types.h"

namespace coord::raft::storage_internal {

class EntryCache {
 public:
  // `max_bytes` bounds the sum of Entry::ByteSizeLong of the cached entries;
  // 0 disables caching.
  explicit EntryCache(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Mirrors a successful append of contiguous `entries` to the log: cached
  // entries at entries.front().index or later are dropped (a replaced suffix),
  // and the new ones added. If the new entries do not extend the cached suffix
  // (a gap), the cache is cleared first, so it stays a suffix of the log.
  void Append(const std::vector<pb::Entry>& entries);
  // Mirrors compaction: drops entries with index < `index`.
  void CompactTo(Index index);
  void Clear();

  bool empty() const { return entries_.empty(); }
  // Valid when !empty().
  Index FirstIndex() const { return entries_.front().index(); }
  Index LastIndex() const { return entries_.back().index(); }
  // The cached entry at `index`, or nullptr.
  const pb::Entry* Get(Index index) const;

  uint64_t bytes() const { return bytes_; }
  size_t size() const { return entries_.size(); }

 private:
  void TruncateFrom(Index index);
  void Evict();

  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  std::deque<pb::Entry> entries_;  // contiguous indexes
};

}  // namespace coord::raft::storage_internal
