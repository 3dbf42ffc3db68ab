// SessionTracker: the leader's monotonic deadlines for sessions (the protocol is
// in state_machine.h, "Sessions"). Pure: time is passed in, nothing is proposed
// here — the caller proposes the Commands this returns.
//
//   * Activate(sessions, now) when this member becomes leader: deadline = now +
//     remaining_ms (the last checkpoint, create or keepalive).
//   * OnRenewed / OnEnded as create, keepalive, close and expiry are applied.
//   * TakeExpired(now): a SessionExpire for every session past its deadline that
//     was not proposed within the last `retry` (a lost proposal is retried).
//   * MakeCheckpoint(now): a SessionCheckpoint with the remaining TTL of the
//     sessions whose record in the state is stale: not renewed (or checkpointed)
//     for half their TTL or more. A session kept alive (every ttl/3) is never in
//     one, so the log carries checkpoints for dying sessions only, not O(sessions)
//     every interval; at most kMaxCheckpointSessions per command (the stalest
//     wait for the next one). A failover thus extends a dead session by less than
//     half its TTL plus the election.
//   * Deactivate() when leadership is lost.
//
// Thread-safety: all methods are thread-safe (the apply thread reports renewals,
// the server's timer asks for expiries); the deadlines are a DeadlineSet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "coord/server/state_machine.h"
#include "server/deadline_set.h"
#include "state.pb.h"

namespace coord::server {

class SessionTracker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SessionTracker(std::chrono::milliseconds retry = std::chrono::milliseconds(1000))
      : sessions_(retry) {}

  void Activate(const std::vector<SessionState>& sessions, Clock::time_point now);
  void Deactivate();
  bool active() const;

  void OnRenewed(int64_t session_id, int64_t ttl_ms, uint64_t renewed_index, Clock::time_point now);
  void OnEnded(int64_t session_id);

  // Empty when nothing is due or the tracker is inactive.
  std::optional<coord::state::Command> TakeExpired(Clock::time_point now);
  // Empty when inactive or there are no sessions.
  // Marks the sessions it carries as recorded at `now`.
  static constexpr size_t kMaxCheckpointSessions = 10'000;
  std::optional<coord::state::Command> MakeCheckpoint(Clock::time_point now);

  size_t size() const;

 private:
  struct Record {
    uint64_t renewed_index = 0;
    std::chrono::milliseconds ttl{0};
    // When the state last learned this session's remaining time (renewal,
    // checkpoint, or this leader's start, which read it from the state).
    Clock::time_point recorded_at;
  };
  DeadlineSet<int64_t, Record> sessions_;
};

}  // namespace coord::server
