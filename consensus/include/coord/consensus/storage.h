// LogStorage: the durable half of a Raft member (log, hard state, snapshot).
//
// The core (Raft) only *reads* storage, through the const methods. The driver
// (or a test, or the simulation) *writes* it, following the Ready contract in
// raft.h: Save() everything a Ready asks to persist, then send its messages.
//
// Log shape: the log holds entries [FirstIndex(), LastIndex()]. Everything before
// FirstIndex() has been compacted away and is covered by the snapshot, whose index
// is at least FirstIndex() - 1 (a snapshot may be newer than the compaction point
// when CreateSnapshot keeps a tail of entries). The term of FirstIndex() - 1 is
// still known (TermAt), so an append right after the compaction point can be
// checked. An empty log has LastIndex() == FirstIndex() - 1. A fresh store has
// FirstIndex() == 1, LastIndex() == 0 and TermAt(0) == 0.
//
// Thread-safety: none. One thread (the driver's strand) uses a storage at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

// Everything one Ready asks to make durable, written atomically (one fsync).
struct PersistBatch {
  // If set (a snapshot received from the leader): becomes the latest snapshot and
  // the log is reset to start right after it (FirstIndex() = index + 1, the term
  // of index is the snapshot's term), discarding every older entry. Applied first.
  const pb::Snapshot* snapshot = nullptr;
  // Appended after the snapshot; an existing entry at entries.front().index or later
  // is truncated first (a conflicting suffix is replaced). Contiguous indexes.
  const std::vector<pb::Entry>* entries = nullptr;
  // If set: the new hard state. Written last.
  const pb::HardState* hard_state = nullptr;
  // Durable (fsync) before Save returns. The simulation may turn this off.
  bool sync = true;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // ---- Read side (used by the core) ----

  // The last saved hard state (all zero for a fresh store).
  virtual pb::HardState HardState() const = 0;

  // Metadata of the latest snapshot (index 0 and an empty ConfState for a fresh
  // store; a fresh store's membership is given by Config::peers instead).
  virtual pb::SnapshotMetadata SnapshotMetadata() const = 0;

  // Entries [lo, hi). Returns at least one entry when lo < hi even if that entry
  // alone exceeds max_bytes; otherwise stops before exceeding max_bytes (sum of
  // Entry::ByteSizeLong). Errors: kCompacted if lo < FirstIndex(),
  // kUnavailable if hi > LastIndex() + 1.
  virtual Result<std::vector<pb::Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const = 0;

  // Term of the entry at i, for i in [FirstIndex() - 1, LastIndex()].
  // Errors: kCompacted below that, kUnavailable above LastIndex().
  virtual Result<Term> TermAt(Index i) const = 0;

  virtual Index FirstIndex() const = 0;  // compaction point + 1
  virtual Index LastIndex() const = 0;   // FirstIndex() - 1 when the log is empty

  // The latest snapshot with its data. kUnavailable if there is none.
  virtual Result<pb::Snapshot> GetSnapshot() const = 0;

  // ---- Write side (used by the driver) ----

  // Makes `batch` durable atomically (see PersistBatch). After an error the
  // storage must be considered failed: the member stops (STYLE: loud failure).
  virtual Status Save(const PersistBatch& batch) = 0;

  // Records a snapshot of the application state as of `metadata.index` (which
  // must be <= the saved commit index and >= the current snapshot index), then
  // discards log entries up to and including `metadata.index - keep_entries`
  // (keeping a tail lets slow followers catch up from the log instead of a
  // snapshot). The entries after the snapshot are kept.
  virtual Status CreateSnapshot(const pb::SnapshotMetadata& metadata, std::string data,
                                uint64_t keep_entries) = 0;
};

}  // namespace coord::raft
