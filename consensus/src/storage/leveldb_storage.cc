// LevelDbStorage: LogStorage on LevelDB. Contract in leveldb_storage.h.
//
// On-disk layout of a store directory DIR:
//
//   DIR/CURRENT, LOCK, LOG, MANIFEST-*, *.ldb, *.log   the LevelDB database
//   DIR/snap-<index>-<term>.snap                        the current snapshot image
//                                                       (format in snapshot_file.h)
//
// LevelDB keys start with a one-byte prefix naming the record kind:
//
//   "v"                      format version (u32, currently 1)
//   "f"                      compaction point: first index (u64) and the term of
//                            first index - 1 (u64)
//   "h"                      pb::HardState
//   "m"                      pb::SnapshotMetadata of the current snapshot (absent
//                            or index 0: no snapshot)
//   "e" + index (8 bytes,    pb::Entry. Big-endian, so LevelDB's bytewise order is
//        big-endian)         index order and the log is one range scan.
//
// Every value is a record: crc32c(payload) (u32 little-endian) + payload
// (coding.h). Entries' payload is the serialized pb::Entry, whose own index field
// must equal the key's.
//
// Invariants of a consistent store (checked by Open):
//   - entry keys are exactly [first, last] with no gap, where first comes from "f";
//   - terms never decrease along the log, starting from the term of first - 1;
//   - snapshot index >= first - 1 and <= last; where the log still knows the term
//     of the snapshot index, it equals the snapshot's term;
//   - hard state commit <= last (Raft only commits what the member has);
//   - the snapshot file exists and matches "m" and its checksums.
//
// Write ordering: a snapshot image is durable under its final name before the
// WriteBatch that points "m" at it; the old image is removed only after that
// batch. A crash in between leaves an unreferenced file, removed at the next Open.
#include "coord/consensus/leveldb_storage.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <utility>

#include "storage/coding.h"
#include "storage/entry_cache.h"
#include "storage/snapshot_file.h"
#include "storage/term_index.h"

namespace coord::raft {

using storage_internal::DecodeEntryKey;
using storage_internal::EntryKey;
using storage_internal::FirstIndexRecord;
using storage_internal::FrameRecord;
using storage_internal::UnframeRecord;

namespace {

// Maps a LevelDB status to ours (OK stays OK), keeping LevelDB's text and naming the directory.
Status FromLevelDb(const leveldb::Status& s, const std::string& what, const std::string& dir) {
  if (s.ok()) return Status::Ok();
  std::string message = what + " in " + dir + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(std::move(message));
  if (s.IsNotFound()) return Status::NotFound(std::move(message));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(message));
  return Status::IOError(std::move(message));
}

std::string Framed(const google::protobuf::MessageLite& message) {
  return FrameRecord(message.SerializeAsString());
}

std::string FramedFirstIndex(Index first_index, Term prev_term) {
  return FrameRecord(storage_internal::EncodeFirstIndex({first_index, prev_term}));
}

}  // namespace

LevelDbStorage::LevelDbStorage(const LevelDbStorageOptions& options)
    : options_(options),
      terms_(std::make_unique<storage_internal::TermIndex>()),
      cache_(std::make_unique<storage_internal::EntryCache>(options.entry_cache_bytes)) {}

LevelDbStorage::~LevelDbStorage() = default;

Result<std::unique_ptr<LevelDbStorage>> LevelDbStorage::Open(const LevelDbStorageOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("LevelDbStorage: empty directory path");
  if (options.write_buffer_bytes < (64u << 10)) {
    return Status::InvalidArgument("LevelDbStorage: write_buffer_bytes must be at least 64 KiB");
  }
  std::unique_ptr<LevelDbStorage> storage(new LevelDbStorage(options));
  COORD_RETURN_IF_ERROR(storage->OpenDb());
  COORD_RETURN_IF_ERROR(storage->LoadAndVerify());
  return storage;
}

Status LevelDbStorage::OpenDb() {
  leveldb::Options o;
  o.create_if_missing = options_.create_if_missing;
  o.error_if_exists = options_.error_if_exists;
  o.paranoid_checks = options_.paranoid_checks;
  o.write_buffer_size = options_.write_buffer_bytes;
  o.max_open_files = options_.max_open_files;
  if (options_.block_cache_bytes > 0) {
    block_cache_.reset(leveldb::NewLRUCache(options_.block_cache_bytes));
    o.block_cache = block_cache_.get();
  }
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, options_.dir, &raw);
  if (s.ok()) {
    db_.reset(raw);
    return Status::Ok();
  }
  const std::string text = s.ToString();
  // LevelDB's lock failure reads "IO error: lock DIR/LOCK: already held by
  // process" (same process) or "... Resource temporarily unavailable" (another).
  if (s.IsIOError() && text.find("/LOCK") != std::string::npos) {
    return Status::IOError("raft log directory " + options_.dir +
                           " is in use by another process or storage instance (" + text + ")");
  }
  if (s.IsInvalidArgument() && text.find("does not exist") != std::string::npos) {
    return Status::NotFound("no raft log in " + options_.dir + " (create_if_missing is false)");
  }
  return FromLevelDb(s, "cannot open raft log", options_.dir);
}

Status LevelDbStorage::LoadAndVerify() {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::string value;
  std::string why;

  leveldb::Status s = db_->Get(ro, storage_internal::kFormatVersionKey, &value);
  if (s.IsNotFound()) {
    // Either brand new, or created by an Open that crashed before its first
    // write. Anything else without a version record is not ours (or damaged).
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::Corruption("raft log in " + options_.dir +
                                " has records but no format version record");
    }
    COORD_RETURN_IF_ERROR(FromLevelDb(it->status(), "cannot read raft log", options_.dir));
    COORD_RETURN_IF_ERROR(WriteFreshStore());
  } else if (!s.ok()) {
    return FromLevelDb(s, "cannot read format version", options_.dir);
  } else {
    std::optional<std::string_view> payload = UnframeRecord(value, &why);
    if (!payload || payload->size() != 4) {
      return Status::Corruption("corrupt format version record in " + options_.dir + ": " +
                                (payload ? "wrong size" : why));
    }
    uint32_t version = storage_internal::DecodeFixed32(payload->data());
    if (version != storage_internal::kFormatVersion) {
      return Status::Corruption("raft log in " + options_.dir + " has format version " +
                                std::to_string(version) + "; this build reads version " +
                                std::to_string(storage_internal::kFormatVersion));
    }
  }

  // Compaction point: required.
  s = db_->Get(ro, storage_internal::kFirstIndexKey, &value);
  if (s.IsNotFound()) {
    return Status::Corruption("raft log in " + options_.dir + " has no compaction point record");
  }
  if (!s.ok()) return FromLevelDb(s, "cannot read compaction point", options_.dir);
  std::optional<std::string_view> payload = UnframeRecord(value, &why);
  std::optional<FirstIndexRecord> first;
  if (payload) first = storage_internal::DecodeFirstIndex(*payload);
  if (!first) {
    return Status::Corruption("corrupt compaction point record in " + options_.dir + ": " +
                              (payload ? "undecodable" : why));
  }
  first_index_ = first->first_index;
  prev_term_ = first->prev_term;

  // Hard state and snapshot metadata: absent means zero.
  auto load = [&](const char* key, const char* what, google::protobuf::MessageLite* msg) {
    leveldb::Status gs = db_->Get(ro, key, &value);
    if (gs.IsNotFound()) return Status::Ok();
    if (!gs.ok()) return FromLevelDb(gs, std::string("cannot read ") + what, options_.dir);
    std::optional<std::string_view> p = UnframeRecord(value, &why);
    if (!p || !msg->ParseFromArray(p->data(), static_cast<int>(p->size()))) {
      return Status::Corruption(std::string("corrupt ") + what + " record in " + options_.dir +
                                ": " + (p ? "undecodable" : why));
    }
    return Status::Ok();
  };
  COORD_RETURN_IF_ERROR(load(storage_internal::kHardStateKey, "hard state", &hard_state_));
  COORD_RETURN_IF_ERROR(load(storage_internal::kSnapshotMetaKey, "snapshot metadata", &snapshot_));

  COORD_RETURN_IF_ERROR(VerifyLog());
  COORD_RETURN_IF_ERROR(CheckConsistency());
  std::string keep;
  if (snapshot_.index() > 0) {
    COORD_RETURN_IF_ERROR(storage_internal::ReadSnapshotFile(options_.dir, snapshot_, nullptr));
    keep = storage_internal::SnapshotFileName(snapshot_.index(), snapshot_.term());
  }
  // Leftovers of a crash are harmless (never referenced); failing to remove them
  // must not stop the member.
  storage_internal::RemoveStaleSnapshotFiles(options_.dir, keep).IgnoreError();
  return Status::Ok();
}

Status LevelDbStorage::VerifyLog() {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;  // a one-off scan must not evict the hot blocks
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  const std::string prefix(1, storage_internal::kEntryPrefix);
  Index expected = first_index_;
  Term prev_term = prev_term_;
  terms_->Clear();
  pb::Entry entry;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    std::optional<Index> index = DecodeEntryKey(key);
    if (!index) {
      return Status::Corruption("corrupt raft log in " + options_.dir +
                                ": malformed entry key of " + std::to_string(key.size()) +
                                " bytes after index " + std::to_string(expected - 1));
    }
    if (*index < expected) {
      return EntryCorruption(*index, "entry is below the compaction point (first index " +
                                         std::to_string(first_index_) + ")");
    }
    if (*index > expected) {
      return EntryCorruption(expected, "entry is missing (the log jumps from index " +
                                           std::to_string(expected - 1) + " to " +
                                           std::to_string(*index) + ")");
    }
    COORD_RETURN_IF_ERROR(
        DecodeEntry(*index, std::string_view(it->value().data(), it->value().size()), &entry));
    if (entry.term() < prev_term) {
      return EntryCorruption(*index, "term " + std::to_string(entry.term()) +
                                         " is lower than term " + std::to_string(prev_term) +
                                         " of the previous index");
    }
    terms_->Append(*index, entry.term());
    prev_term = entry.term();
    ++expected;
  }
  COORD_RETURN_IF_ERROR(FromLevelDb(it->status(), "cannot read raft log", options_.dir));
  last_index_ = expected - 1;
  return Status::Ok();
}

Status LevelDbStorage::CheckConsistency() const {
  const Index snap = snapshot_.index();
  auto bad = [&](const std::string& what) {
    return Status::Corruption("inconsistent raft log in " + options_.dir + ": " + what);
  };
  if (snap + 1 < first_index_) {
    return bad("snapshot at index " + std::to_string(snap) +
               " is older than the compaction point " + "(first index " +
               std::to_string(first_index_) + ")");
  }
  if (snap > last_index_) {
    return bad("snapshot at index " + std::to_string(snap) + " is beyond the last index " +
               std::to_string(last_index_));
  }
  if (snap > 0) {
    Result<Term> term = TermAt(snap);
    if (term.ok() && *term != snapshot_.term()) {
      return bad("snapshot at index " + std::to_string(snap) + " has term " +
                 std::to_string(snapshot_.term()) + " but the log has term " +
                 std::to_string(*term));
    }
  }
  if (hard_state_.commit() > last_index_) {
    return bad("commit index " + std::to_string(hard_state_.commit()) +
               " is beyond the last index " + std::to_string(last_index_) +
               " (committed entries are missing)");
  }
  return Status::Ok();
}

Status LevelDbStorage::WriteFreshStore() {
  leveldb::WriteBatch wb;
  std::string version;
  storage_internal::PutFixed32(&version, storage_internal::kFormatVersion);
  wb.Put(storage_internal::kFormatVersionKey, FrameRecord(version));
  wb.Put(storage_internal::kFirstIndexKey, FramedFirstIndex(1, 0));
  leveldb::WriteOptions wo;
  wo.sync = true;
  return FromLevelDb(db_->Write(wo, &wb), "cannot initialize raft log", options_.dir);
}

Status LevelDbStorage::EntryCorruption(Index index, const std::string& what) const {
  return Status::Corruption("corrupt raft log entry at index " + std::to_string(index) + " in " +
                            options_.dir + ": " + what);
}

Status LevelDbStorage::DecodeEntry(Index index, std::string_view record, pb::Entry* entry) const {
  std::string why;
  std::optional<std::string_view> payload = UnframeRecord(record, &why);
  if (!payload) return EntryCorruption(index, why);
  if (!entry->ParseFromArray(payload->data(), static_cast<int>(payload->size()))) {
    return EntryCorruption(index, "undecodable entry");
  }
  if (entry->index() != index) {
    return EntryCorruption(index, "entry records index " + std::to_string(entry->index()));
  }
  return Status::Ok();
}

Status LevelDbStorage::Fail(Status status) {
  if (failed_.ok()) failed_ = status;
  return status;
}

// ---- Read side ----

pb::HardState LevelDbStorage::HardState() const { return hard_state_; }

pb::SnapshotMetadata LevelDbStorage::SnapshotMetadata() const { return snapshot_; }

Index LevelDbStorage::FirstIndex() const { return first_index_; }

Index LevelDbStorage::LastIndex() const { return last_index_; }

uint64_t LevelDbStorage::TEST_EntryCacheBytes() const { return cache_->bytes(); }

Result<Term> LevelDbStorage::TermAt(Index i) const {
  if (i + 1 < first_index_) {
    return Status::Compacted("index " + std::to_string(i) + " is compacted (first index " +
                             std::to_string(first_index_) + ")");
  }
  if (i > last_index_) {
    return Status::Unavailable("index " + std::to_string(i) + " is beyond the last index " +
                               std::to_string(last_index_));
  }
  if (i + 1 == first_index_) return prev_term_;
  std::optional<Term> term = terms_->TermOf(i);
  if (!term) return Status::Internal("term index does not cover index " + std::to_string(i));
  return *term;
}

Result<std::vector<pb::Entry>> LevelDbStorage::Entries(Index lo, Index hi,
                                                       uint64_t max_bytes) const {
  if (lo < first_index_) {
    return Status::Compacted("entries from index " + std::to_string(lo) +
                             " are compacted (first index " + std::to_string(first_index_) + ")");
  }
  if (hi > last_index_ + 1) {
    return Status::Unavailable("entries up to index " + std::to_string(hi - 1) +
                               " are beyond the last index " + std::to_string(last_index_));
  }
  std::vector<pb::Entry> out;
  if (lo >= hi) return out;
  uint64_t bytes = 0;
  // Adds an entry unless it would exceed max_bytes (the first one always goes).
  auto add = [&](const pb::Entry& entry) {
    bytes += entry.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) return false;
    out.push_back(entry);
    return true;
  };

  // The cache holds a suffix of the log: [lo, disk_end) comes from LevelDB, the
  // rest from the cache.
  const Index disk_end = cache_->empty() ? hi : std::min(hi, std::max(lo, cache_->FirstIndex()));
  Index i = lo;
  if (i < disk_end) {
    leveldb::ReadOptions ro;
    ro.verify_checksums = true;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    it->Seek(EntryKey(i));
    pb::Entry entry;
    for (; i < disk_end; ++i, it->Next()) {
      if (!it->Valid() || it->key() != EntryKey(i)) {
        COORD_RETURN_IF_ERROR(FromLevelDb(it->status(), "cannot read raft log", options_.dir));
        return EntryCorruption(i, "entry is missing");
      }
      COORD_RETURN_IF_ERROR(
          DecodeEntry(i, std::string_view(it->value().data(), it->value().size()), &entry));
      if (!add(entry)) return out;
    }
  }
  for (; i < hi; ++i) {
    const pb::Entry* entry = cache_->Get(i);
    if (entry == nullptr) return Status::Internal("entry cache lost index " + std::to_string(i));
    if (!add(*entry)) return out;
  }
  return out;
}

Result<pb::Snapshot> LevelDbStorage::GetSnapshot() const {
  if (snapshot_.index() == 0) return Status::Unavailable("no snapshot in " + options_.dir);
  pb::Snapshot snapshot;
  COORD_RETURN_IF_ERROR(
      storage_internal::ReadSnapshotFile(options_.dir, snapshot_, snapshot.mutable_data()));
  *snapshot.mutable_metadata() = snapshot_;
  return snapshot;
}

// ---- Write side ----

Status LevelDbStorage::ValidateSave(const PersistBatch& batch) const {
  // The log's shape after the snapshot (if any) is applied.
  Index first = first_index_;
  Index last = last_index_;
  if (batch.snapshot != nullptr) {
    const pb::SnapshotMetadata& m = batch.snapshot->metadata();
    if (m.index() == 0) return Status::InvalidArgument("Save: snapshot with index 0");
    if (m.index() < snapshot_.index()) {
      return Status::InvalidArgument("Save: snapshot at index " + std::to_string(m.index()) +
                                     " is older than the current snapshot at index " +
                                     std::to_string(snapshot_.index()));
    }
    first = m.index() + 1;
    last = m.index();
  }
  if (batch.entries == nullptr || batch.entries->empty()) return Status::Ok();
  const std::vector<pb::Entry>& entries = *batch.entries;
  const Index k = entries.front().index();
  for (size_t n = 1; n < entries.size(); ++n) {
    if (entries[n].index() != k + n) {
      return Status::InvalidArgument("Save: entries are not contiguous at index " +
                                     std::to_string(entries[n].index()));
    }
    if (entries[n].term() < entries[n - 1].term()) {
      return Status::InvalidArgument("Save: term decreases at index " +
                                     std::to_string(entries[n].index()));
    }
  }
  if (k < first) {
    return Status::InvalidArgument("Save: entries start at index " + std::to_string(k) +
                                   ", below the first index " + std::to_string(first));
  }
  if (k > last + 1) {
    return Status::InvalidArgument("Save: entries start at index " + std::to_string(k) +
                                   ", leaving a gap after the last index " + std::to_string(last));
  }
  Term prev_term = 0;
  if (batch.snapshot != nullptr) {
    prev_term = batch.snapshot->metadata().term();  // k == first == snapshot index + 1
  } else {
    Result<Term> t = TermAt(k - 1);
    if (!t.ok()) return t.status();
    prev_term = *t;
  }
  if (entries.front().term() < prev_term) {
    return Status::InvalidArgument("Save: entry " + std::to_string(k) + " has term " +
                                   std::to_string(entries.front().term()) + ", lower than term " +
                                   std::to_string(prev_term) + " of the entry before it");
  }
  return Status::Ok();
}

Status LevelDbStorage::Save(const PersistBatch& batch) {
  if (!failed_.ok()) return failed_;
  COORD_RETURN_IF_ERROR(ValidateSave(batch));
  const bool has_entries = batch.entries != nullptr && !batch.entries->empty();
  if (batch.snapshot == nullptr && !has_entries && batch.hard_state == nullptr) {
    return Status::Ok();  // nothing to persist
  }

  leveldb::WriteBatch wb;
  Index last = last_index_;  // of the log as the batch goes
  const pb::SnapshotMetadata* snap = nullptr;
  if (batch.snapshot != nullptr) {
    snap = &batch.snapshot->metadata();
    // The image must be durable before the batch that points at it.
    Status s = storage_internal::WriteSnapshotFile(options_.dir, *snap, batch.snapshot->data(),
                                                   batch.sync);
    if (!s.ok()) return Fail(s);
    wb.Put(storage_internal::kSnapshotMetaKey, Framed(*snap));
    for (Index i = first_index_; i <= last_index_; ++i) wb.Delete(EntryKey(i));
    wb.Put(storage_internal::kFirstIndexKey, FramedFirstIndex(snap->index() + 1, snap->term()));
    last = snap->index();
  }
  if (has_entries) {
    const std::vector<pb::Entry>& entries = *batch.entries;
    // Truncate the conflicting suffix: keys beyond the new last would otherwise
    // survive as a stale tail (new keys at or below the old last overwrite).
    const Index new_last = entries.back().index();
    for (Index i = new_last + 1; i <= last; ++i) wb.Delete(EntryKey(i));
    for (const pb::Entry& entry : entries) wb.Put(EntryKey(entry.index()), Framed(entry));
  }
  if (batch.hard_state != nullptr) {
    wb.Put(storage_internal::kHardStateKey, Framed(*batch.hard_state));
  }

  leveldb::WriteOptions wo;
  wo.sync = batch.sync;
  leveldb::Status ls = db_->Write(wo, &wb);
  if (!ls.ok()) return Fail(FromLevelDb(ls, "cannot write raft log", options_.dir));

  // Durable: mirror it in memory.
  if (snap != nullptr) {
    snapshot_ = *snap;
    first_index_ = snap->index() + 1;
    last_index_ = snap->index();
    prev_term_ = snap->term();
    terms_->Clear();
    cache_->Clear();
  }
  if (has_entries) {
    const std::vector<pb::Entry>& entries = *batch.entries;
    terms_->TruncateFrom(entries.front().index());
    for (const pb::Entry& entry : entries) terms_->Append(entry.index(), entry.term());
    cache_->Append(entries);
    last_index_ = entries.back().index();
  }
  if (batch.hard_state != nullptr) hard_state_ = *batch.hard_state;
  if (snap != nullptr) {
    // The superseded image is unreferenced now; removing it is housekeeping.
    storage_internal::RemoveStaleSnapshotFiles(
        options_.dir, storage_internal::SnapshotFileName(snap->index(), snap->term()))
        .IgnoreError();
  }
  return Status::Ok();
}

Status LevelDbStorage::CreateSnapshot(const pb::SnapshotMetadata& metadata, std::string data,
                                      uint64_t keep_entries) {
  if (!failed_.ok()) return failed_;
  const Index index = metadata.index();
  auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("CreateSnapshot at index " + std::to_string(index) + ": " + why);
  };
  if (index == 0) return invalid("index must be at least 1");
  if (index < snapshot_.index()) {
    return invalid("older than the current snapshot at index " + std::to_string(snapshot_.index()));
  }
  if (index > hard_state_.commit()) {
    return invalid("beyond the commit index " + std::to_string(hard_state_.commit()));
  }
  if (index > last_index_) return invalid("beyond the last index " + std::to_string(last_index_));
  Result<Term> term = TermAt(index);  // index >= snapshot index >= first - 1: known
  if (!term.ok()) return term.status();
  if (*term != metadata.term()) {
    return invalid("term " + std::to_string(metadata.term()) + " disagrees with the log's term " +
                   std::to_string(*term));
  }

  Status s = storage_internal::WriteSnapshotFile(options_.dir, metadata, data, /*sync=*/true);
  if (!s.ok()) return Fail(s);

  leveldb::WriteBatch wb;
  wb.Put(storage_internal::kSnapshotMetaKey, Framed(metadata));
  Index new_first = first_index_;
  if (index > keep_entries) new_first = std::max(new_first, index - keep_entries + 1);
  Term new_prev_term = prev_term_;
  if (new_first > first_index_) {
    Result<Term> t = TermAt(new_first - 1);  // new_first - 1 <= index <= last
    if (!t.ok()) return t.status();
    new_prev_term = *t;
    for (Index i = first_index_; i < new_first; ++i) wb.Delete(EntryKey(i));
    wb.Put(storage_internal::kFirstIndexKey, FramedFirstIndex(new_first, new_prev_term));
  }
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status ls = db_->Write(wo, &wb);
  if (!ls.ok()) return Fail(FromLevelDb(ls, "cannot write snapshot metadata", options_.dir));

  snapshot_ = metadata;
  if (new_first > first_index_) {
    first_index_ = new_first;
    prev_term_ = new_prev_term;
    terms_->CompactTo(new_first);
    cache_->CompactTo(new_first);
  }
  storage_internal::RemoveStaleSnapshotFiles(
      options_.dir, storage_internal::SnapshotFileName(index, metadata.term()))
      .IgnoreError();
  return Status::Ok();
}

}  // namespace coord::raft
