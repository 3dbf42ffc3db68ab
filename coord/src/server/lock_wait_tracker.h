// LockWaitTracker: the leader's monotonic deadlines for queued lock acquires that
// carry a wait timeout (the protocol is in state_machine.h, "Locks"). Pure like
// SessionTracker: time is passed in and nothing is proposed here — the caller
// proposes the LockWaitTimeout Commands this returns.
//
//   * Activate(waits, now) when this member becomes leader (from
//     StateMachine::LockWaits()). The state does not record when a wait was
//     queued, so a new leader gives every wait its whole timeout again: a wait
//     may last up to one timeout longer across a failover, never shorter.
//   * OnQueued(wait, now) as an acquire is queued; OnLeft(acquire_index) when it
//     is granted or leaves the queue.
//   * TakeExpired(now): a LockWaitTimeout for every wait past its deadline that
//     was not proposed within the last `retry` (a lost proposal is retried; a
//     late duplicate is ignored by the state machine).
//   * Deactivate() when leadership is lost.
//
// Thread-safety: all methods are thread-safe (the apply thread reports queue
// changes, the server's timer asks for expiries).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "coord/server/state_machine.h"
#include "server/deadline_set.h"
#include "state.pb.h"

namespace coord::server {

class LockWaitTracker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LockWaitTracker(std::chrono::milliseconds retry = std::chrono::milliseconds(1000))
      : waits_(retry) {}

  void Activate(const std::vector<LockWaitState>& waits, Clock::time_point now);
  void Deactivate();
  bool active() const;

  // A wait without a timeout (wait_timeout_ms <= 0) is not tracked.
  void OnQueued(const LockWaitState& wait, Clock::time_point now);
  void OnLeft(uint64_t acquire_index);

  // One Command per wait due; empty when nothing is due or the tracker is inactive.
  std::vector<coord::state::Command> TakeExpired(Clock::time_point now);

  size_t size() const;

 private:
  struct Wait {
    std::string name;
    int64_t session = 0;
  };
  DeadlineSet<uint64_t, Wait> waits_;  // by acquire_index
};

}  // namespace coord::server
