// LevelDbStorage: the durable LogStorage of a Coord member, on LevelDB.
//
// One directory holds one member's Raft state: a LevelDB database (log entries,
// hard state, snapshot metadata, compaction point, format version) and the
// current snapshot image as a separate checksummed file. The on-disk layout is
// documented at the top of consensus/src/storage/leveldb_storage.cc.
//
// Durability: Save() writes one LevelDB WriteBatch (sync = batch.sync), so a
// Ready is persisted atomically: after a crash either all of it or none of it is
// visible. CreateSnapshot() is always synced. A snapshot file is made durable
// (temp file, fsync, rename, directory fsync) before the batch that points at it.
//
// Integrity: every record carries a CRC32C. Open() verifies the whole log (each
// entry's checksum, decodability, contiguous indexes, non-decreasing terms, the
// index stored inside each entry against its key) and the snapshot file, and
// fails with kCorruption naming the index and the directory, e.g.
//   "corrupt raft log entry at index 1234 in /data/raft: checksum mismatch".
// Nothing corrupt is ever silently skipped or applied. Reads of entries from
// LevelDB after Open() verify checksums again.
//
// Performance: FirstIndex, LastIndex, HardState, SnapshotMetadata and TermAt are
// answered from memory (TermAt from a compact run-length index of terms built on
// Open). Entries() serves the most recent entries from an in-memory cache of
// `entry_cache_bytes`, so a leader replicating its tail does not read LevelDB.
//
// Exclusivity: a directory can be open by one LevelDbStorage at a time, across
// processes and within one process (LevelDB's LOCK file); a second Open() fails
// with kIOError "... is in use ...".
//
// Failure: after a write error the storage is failed (STYLE: loud failure): every
// later Save()/CreateSnapshot() returns the first error. Reads keep working on
// the last successfully written state.
//
// Thread-safety: none (as LogStorage). One thread or strand uses an instance.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coord/consensus/storage.h"
#include "coord/consensus/types.h"
#include "coord/status.h"

namespace leveldb {
class Cache;
class DB;
}  // namespace leveldb

namespace coord::raft {

namespace storage_internal {
class EntryCache;
class TermIndex;
}  // namespace storage_internal

struct LevelDbStorageOptions {
  // Directory of this member's Raft state. Required (no default). Created
  // (one level) when create_if_missing is set.
  std::string dir;
  // Create a fresh, empty store if `dir` holds none. Default: true. When false,
  // opening a missing store fails with kNotFound.
  bool create_if_missing = true;
  // Fail with kInvalidArgument if `dir` already holds a store. Default: false.
  bool error_if_exists = false;
  // LevelDB block cache (uncompressed blocks of older log entries), owned by the
  // storage. Default 8 MiB; 0 = LevelDB's own internal 8 MiB cache.
  uint64_t block_cache_bytes = 8ull << 20;
  // LevelDB memtable size before it is flushed to a table file. Default 4 MiB;
  // at least 64 KiB (else kInvalidArgument).
  uint64_t write_buffer_bytes = 4ull << 20;
  // In-memory cache of the most recent log entries (sum of Entry::ByteSizeLong),
  // from which Entries() is served without touching LevelDB. 0 disables it.
  // Default 16 MiB.
  uint64_t entry_cache_bytes = 16ull << 20;
  // LevelDB paranoid_checks: fail Open on any damage LevelDB finds in its own
  // files. Default: true. Off, LevelDB skips a damaged write-ahead-log record and
  // keeps going, which could silently drop an acknowledged batch in the middle
  // of the log; a Raft member must rather stop and say so.
  bool paranoid_checks = true;
  // Most files LevelDB keeps open (its table cache; LevelDB clamps it to at
  // least 74). The process must keep this many descriptors free for storage:
  // coordd reserves it out of RLIMIT_NOFILE before sizing its client
  // connection cap. Default 200 (LevelDB's own default is 1000).
  int max_open_files = 200;
};

class LevelDbStorage final : public LogStorage {
 public:
  // Opens (or creates) the store in options.dir and verifies all of it.
  // Errors: kInvalidArgument (empty dir, bad options, error_if_exists and a store
  // exists), kNotFound (no store and !create_if_missing), kIOError (the directory
  // is in use by another instance, or the OS refused a read or write),
  // kCorruption (any record fails its checksum or the log breaks an invariant;
  // the message names the index and the directory).
  static Result<std::unique_ptr<LevelDbStorage>> Open(const LevelDbStorageOptions& options);

  ~LevelDbStorage() override;
  LevelDbStorage(const LevelDbStorage&) = delete;
  LevelDbStorage& operator=(const LevelDbStorage&) = delete;

  // ---- LogStorage (see storage.h for the contract) ----
  pb::HardState HardState() const override;
  pb::SnapshotMetadata SnapshotMetadata() const override;
  // Empty when lo >= hi. Besides storage.h's errors: kCorruption if an entry
  // read from LevelDB fails its checksum, kIOError if LevelDB fails.
  Result<std::vector<pb::Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  Result<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  // Reads and verifies the snapshot file. kUnavailable if there is no snapshot;
  // kCorruption if the file fails its checksum; kIOError if it cannot be read.
  Result<pb::Snapshot> GetSnapshot() const override;
  // Errors: kInvalidArgument for a batch that breaks the log's shape (entries
  // not contiguous, a gap after LastIndex(), a term lower than its predecessor's,
  // a snapshot older than the current one); nothing is written then and the
  // storage stays usable. kIOError/kCorruption from the disk fail the storage.
  Status Save(const PersistBatch& batch) override;
  // Errors: kInvalidArgument if metadata.index is below the current snapshot,
  // above the saved commit index or LastIndex(), or metadata.term disagrees with
  // the log; nothing is written then. kIOError fails the storage.
  Status CreateSnapshot(const pb::SnapshotMetadata& metadata, std::string data,
                        uint64_t keep_entries) override;

  // The directory this store lives in.
  const std::string& dir() const { return options_.dir; }

  // Bytes currently held by the in-memory entry cache (for metrics and tests).
  uint64_t TEST_EntryCacheBytes() const;

 private:
  explicit LevelDbStorage(const LevelDbStorageOptions& options);

  Status OpenDb();
  Status LoadAndVerify();
  Status VerifyLog();
  Status CheckConsistency() const;
  Status WriteFreshStore();
  Status ValidateSave(const PersistBatch& batch) const;
  Status Fail(Status status);
  Status EntryCorruption(Index index, const std::string& what) const;
  Status DecodeEntry(Index index, std::string_view record, pb::Entry* entry) const;

  LevelDbStorageOptions options_;
  // Declared before db_: LevelDB must be closed before its block cache goes.
  std::unique_ptr<leveldb::Cache> block_cache_;
  std::unique_ptr<leveldb::DB> db_;

  // In-memory mirror of what is durable. Invariants: first_index_ >= 1;
  // last_index_ >= first_index_ - 1; snapshot_.index() >= first_index_ - 1.
  Index first_index_ = 1;
  Index last_index_ = 0;
  Term prev_term_ = 0;  // term of first_index_ - 1
  pb::HardState hard_state_;
  pb::SnapshotMetadata snapshot_;
  std::unique_ptr<storage_internal::TermIndex> terms_;
  std::unique_ptr<storage_internal::EntryCache> cache_;
  Status failed_;  // sticky first write error
};

}  // namespace coord::raft
