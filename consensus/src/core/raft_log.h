// RaftLog: the core's view of the log — the stable part in LogStorage plus the
// unstable part (entries and possibly a snapshot) not yet persisted.
//
//   storage:   [storage first ... unstable_offset_ - 1]
//   unstable:  [unstable_offset_ ... last]        (entries_, in memory)
//   snapshot_: a received snapshot not yet persisted; while set, nothing at or
//              below its index is read from storage.
//
// Entries handed to the application in a Ready stay here until Advance() says
// they are in storage (StableTo), so reads never miss an entry in between.
// Invariants: applied_ <= committed_ <= LastIndex(); entries_[k].index() ==
// unstable_offset_ + k.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "coord/consensus/storage.h"
#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

class RaftLog {
 public:
  // Starts from what `storage` holds. `applied` is clamped up to the snapshot.
  RaftLog(const LogStorage* storage, Index committed, Index applied);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // Term of entry i for i in [FirstIndex() - 1, LastIndex()]; kCompacted below,
  // kUnavailable above.
  Result<Term> TermOf(Index i) const;
  // Term of entry i, or 0 when it is compacted or beyond the log.
  Term TermOrZero(Index i) const;
  bool MatchTerm(Index i, Term t) const;

  // Entries [lo, hi) limited to max_bytes (at least one). kCompacted if lo is
  // below FirstIndex(); hi is clamped to LastIndex() + 1.
  Result<std::vector<pb::Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const;

  // Like Entries(), but appends copies straight to `out` (an APPEND being built)
  // and adds their byte size to `*bytes`. Returns the number appended.
  Result<size_t> CopyEntriesTo(Index lo, Index hi, uint64_t max_bytes,
                               google::protobuf::RepeatedPtrField<pb::Entry>* out,
                               uint64_t* bytes) const;

  // Is a log ending at (last_index, last_term) at least as up to date as ours?
  bool IsUpToDate(Index last_index, Term last_term) const;

  // The index of the first entry of `entries` that is not already in the log
  // with the same term (0 when all are). Entries must be contiguous.
  Index FindConflict(const google::protobuf::RepeatedPtrField<pb::Entry>& entries) const;
  // The largest index <= index whose term is <= term (fast backtracking). Stops at
  // FirstIndex() - 1 when the walk reaches the compacted part.
  Index FindConflictByTerm(Index index, Term term) const;

  // Appends entries (contiguous, first index <= LastIndex() + 1), truncating any
  // existing entries from the first one's index on. Aborts on a gap or on
  // truncating a committed entry (callers check both first).
  void Append(std::vector<pb::Entry>&& entries);
  void Append(pb::Entry&& entry);

  // Installs a received snapshot: the log becomes exactly the snapshot.
  void Restore(pb::Snapshot&& snapshot);

  // The last index known to be in storage (Advance reported it stable).
  Index PersistedIndex() const { return unstable_offset_ - 1; }
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  void CommitTo(Index index);  // never moves backwards; index <= LastIndex()

  // ---- Ready bookkeeping ----
  // Entries not yet handed out for persisting.
  bool HasEntriesToPersist() const;
  std::vector<pb::Entry> TakeEntriesToPersist();
  bool HasSnapshotToPersist() const { return snapshot_.has_value() && !snapshot_handed_out_; }
  pb::Snapshot SnapshotToPersist();
  // Committed entries not yet handed out for applying.
  bool HasEntriesToApply() const { return applying_ < committed_; }
  std::vector<pb::Entry> TakeEntriesToApply(uint64_t max_bytes);

  // Advance(): these entries/snapshot are now in storage; these were applied.
  void StableTo(Index index, Term term);
  void StableSnapshotTo(Index index);
  void AppliedTo(Index index);

 private:
  const LogStorage* storage_;
  std::optional<pb::Snapshot> snapshot_;
  bool snapshot_handed_out_ = false;
  std::deque<pb::Entry> entries_;
  Index unstable_offset_;
  // Entries below this index were handed out to be persisted.
  Index persist_from_;
  Index committed_;
  Index applied_;
  Index applying_;  // handed out to apply; applied_ <= applying_ <= committed_
};

}  // namespace coord::raft
