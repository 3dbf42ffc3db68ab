#include "core/progress.h"

#include <algorithm>

#include "core/check.h"

namespace coord::raft {

Inflights::Inflights(int max_count, uint64_t max_bytes)
    : max_count_(std::max(1, max_count)), max_bytes_(max_bytes) {}

void Inflights::Add(Index last_index, uint64_t bytes) {
  COORD_CHECK_MSG(count_ < max_count_, "in-flight window overflow");
  if (static_cast<int>(ring_.size()) < max_count_ && count_ == static_cast<int>(ring_.size())) {
    // Grow lazily; the ring is contiguous from start_ while it still grows only
    // if start_ == 0, so normalise first.
    if (start_ != 0) {
      std::rotate(ring_.begin(), ring_.begin() + start_, ring_.end());
      start_ = 0;
    }
    ring_.push_back({});
  }
  int pos = (start_ + count_) % static_cast<int>(ring_.size());
  ring_[pos] = {last_index, bytes};
  ++count_;
  bytes_ += bytes;
}

void Inflights::FreeLE(Index index) {
  int size = static_cast<int>(ring_.size());
  while (count_ > 0 && ring_[start_].index <= index) {
    bytes_ -= ring_[start_].bytes;
    start_ = (start_ + 1) % size;
    --count_;
  }
  if (count_ == 0) start_ = 0;
}

void Inflights::FreeFirstOne() {
  if (count_ == 0) return;
  FreeLE(ring_[start_].index);
}

void Inflights::Reset() {
  start_ = 0;
  count_ = 0;
  bytes_ = 0;
}

bool Inflights::Full() const {
  return count_ >= max_count_ || (max_bytes_ > 0 && bytes_ >= max_bytes_);
}

void Progress::BecomeProbe() {
  if (state == ProgressState::kSnapshot) {
    // The snapshot may or may not have been installed; probing from just after
    // it is right if it was, and a rejection walks `next` back if it was not.
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  snapshot.reset();
  snapshot_offset = 0;
  snapshot_idle_ticks = 0;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  snapshot.reset();
  snapshot_offset = 0;
  inflights.Reset();
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  state = ProgressState::kSnapshot;
  probe_sent = false;
  pending_snapshot = snapshot_index;
  snapshot_offset = 0;
  snapshot_idle_ticks = 0;
  inflights.Reset();
}

bool Progress::MaybeUpdate(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::MaybeDecrTo(Index rejected, Index match_hint) {
  if (state == ProgressState::kReplicate) {
    // Rejections of indexes at or below match are answers to old messages.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // Probe (and Snapshot): only the answer to the APPEND we sent counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

const char* ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "unknown";
}

}  // namespace coord::raft
