// MemoryStorage: an in-memory LogStorage for tests, the simulation and benchmarks.
//
// Implements the LogStorage contract of storage.h exactly (same error codes, same
// compaction rules) but keeps everything in memory, so "durable" means "saved in
// this object". Save() ignores PersistBatch::sync.
//
// Thread-safety: none (like every LogStorage). Ownership: owns copies of
// everything saved.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "coord/consensus/storage.h"

namespace coord::raft {

class MemoryStorage : public LogStorage {
 public:
  MemoryStorage();
  ~MemoryStorage() override = default;

  pb::HardState HardState() const override;
  pb::SnapshotMetadata SnapshotMetadata() const override;
  Result<std::vector<pb::Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  Result<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  Result<pb::Snapshot> GetSnapshot() const override;

  // Errors: kInvalidArgument for a batch that would leave a gap in the log (the
  // first entry is beyond LastIndex() + 1, or below the compaction point) or has
  // non-contiguous indexes, or a snapshot older than the current one.
  Status Save(const PersistBatch& batch) override;
  // Errors: kInvalidArgument if metadata.index is above the saved commit index or
  // the last index, or below the current snapshot index.
  Status CreateSnapshot(const pb::SnapshotMetadata& metadata, std::string data,
                        uint64_t keep_entries) override;

  // Number of Save() calls so far (tests use it to check batching).
  uint64_t TEST_SaveCount() const { return save_count_; }

 private:
  // Index and term of the entry just before entries_.front() (the compaction point).
  Index offset_ = 0;
  Term offset_term_ = 0;
  std::deque<pb::Entry> entries_;  // entries_[k].index() == offset_ + 1 + k
  pb::HardState hard_state_;
  pb::Snapshot snapshot_;
  bool has_snapshot_ = false;
  uint64_t save_count_ = 0;
};

}  // namespace coord::raft
