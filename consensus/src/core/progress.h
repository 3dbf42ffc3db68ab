// Per-follower replication progress kept by the leader, and its flow control.
//
// A follower is in one of three states (the shape of etcd-io/raft's tracker):
//   Probe      the leader does not know where the logs match; it sends one APPEND
//              and waits for the answer (or the next heartbeat) before the next.
//   Replicate  the logs match up to `match`; the leader pipelines APPENDs
//              optimistically, limited by the in-flight window.
//   Snapshot   the follower needs entries the leader has compacted; a snapshot is
//              being transferred and no APPEND is sent until it is acknowledged.
// Invariant: match < next.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "coord/consensus/types.h"

namespace coord::raft {

// The in-flight window of one follower: APPENDs sent but not yet acknowledged,
// each remembered by its last index and its byte size, in send order (a ring).
class Inflights {
 public:
  // max_count >= 1; max_bytes == 0 means no byte limit.
  Inflights(int max_count, uint64_t max_bytes);

  // Records an APPEND whose last entry is `last_index`. Indexes must increase.
  void Add(Index last_index, uint64_t bytes);
  // Forgets every APPEND with last index <= index (they were acknowledged).
  void FreeLE(Index index);
  // Forgets the oldest APPEND (used when a heartbeat shows the follower alive but
  // the window is full, e.g. because acknowledgements were lost).
  void FreeFirstOne();
  void Reset();

  bool Full() const;
  int Count() const { return count_; }
  uint64_t Bytes() const { return bytes_; }

 private:
  struct Item {
    Index index = 0;
    uint64_t bytes = 0;
  };
  int max_count_;
  uint64_t max_bytes_;
  std::vector<Item> ring_;  // grows up to max_count_ on demand
  int start_ = 0;
  int count_ = 0;
  uint64_t bytes_ = 0;
};

enum class ProgressState { kProbe, kReplicate, kSnapshot };

struct Progress {
  Progress(Index next_index, int max_inflight_msgs, uint64_t max_inflight_bytes)
      : next(next_index), inflights(max_inflight_msgs, max_inflight_bytes) {}

  Index match = 0;
  Index next = 1;
  ProgressState state = ProgressState::kProbe;
  // Probe: an APPEND was sent and neither answered nor re-allowed by a heartbeat.
  bool probe_sent = false;
  bool learner = false;
  // Heard from since the last check-quorum round.
  bool recent_active = false;
  Inflights inflights;

  // Snapshot state: the snapshot being transferred and the next byte offset to
  // send; idle ticks counts ticks without progress (the transfer restarts after
  // an election timeout).
  Index pending_snapshot = 0;
  std::shared_ptr<const pb::Snapshot> snapshot;
  uint64_t snapshot_offset = 0;
  int snapshot_idle_ticks = 0;

  // Heartbeat rounds (ReadIndex) and the leader tick at which the newest
  // acknowledged round was sent (lease).
  uint64_t acked_round = 0;
  uint64_t acked_tick = 0;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);

  // The follower acknowledged `n`. Returns false for a stale acknowledgement.
  bool MaybeUpdate(Index n);
  // Replicate: an APPEND ending at `last` was just sent.
  void OptimisticUpdate(Index last) { next = last + 1; }
  // The follower rejected an APPEND at `rejected`; `match_hint` is where the logs
  // may match. Returns false when the rejection is stale (ignored).
  bool MaybeDecrTo(Index rejected, Index match_hint);
  // No APPEND may be sent now.
  bool IsPaused() const;
};

const char* ProgressStateName(ProgressState state);

}  // namespace coord::raft
