// A checker for histories of one distributed lock (the robustness suite's
// "lock" workload, issue 12): each entry is one grant a client received, with
// its fencing token and when the hold began and ended in the client's view.
//
// Checked, in this order of severity:
//   * duplicate token: two grants carry the same token (a token identifies a
//     grant; fencing is meaningless otherwise);
//   * token order: a grant whose acquire returned before another's acquire was
//     called must have the lower token (tokens increase in grant order, also
//     across a restart of every member);
//   * overlapping holders: the later grant's acquire returned before the
//     earlier holder called Release, and that release was ACKNOWLEDGED — the
//     ensemble still counted the earlier holder when it granted the later one
//     (a release is applied after it is called, a grant before its acquire
//     returns). That is a safety violation.
// An overlap whose earlier holder did not end by an acknowledged release (its
// session was lost, its client was killed, its release failed) is "fenced": the
// later, higher token supersedes it, and a service that checks tokens rejects
// the old holder's writes. It is counted and described, not a failure.
//
// Times are any monotonic clock shared by every client. A hold ends when its
// client stopped using the lock: Release called, or the loss noticed; a hold
// whose client was killed ends at INT64_MAX.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace coord::robustness {

struct LockHold {
  int client = 0;
  int64_t token = 0;
  int64_t acquire_called = 0;    // Acquire invoked
  int64_t acquired = 0;          // Acquire returned the grant (> acquire_called)
  int64_t released = INT64_MAX;  // Release called (or the loss noticed)
  // The release was acknowledged by the ensemble (not lost, not failed).
  bool release_acknowledged = false;
};

struct LockCheckResult {
  bool ok = true;
  std::vector<std::string> violations;  // each names the grants involved
  size_t fenced_overlaps = 0;           // superseded holders, not failures
  std::string Describe() const;
};

LockCheckResult CheckLockHistory(const std::vector<LockHold>& holds);

}  // namespace coord::robustness
