// TpcTimerTracker: the leader's timers for 2PC transactions (docs/decisions.md
// D30): a transaction's timeout while it is PREPARING, and its retention once
// decided. Pure like LockWaitTracker: time is passed in and nothing is proposed
// here — the caller proposes the TpcTimeout / TpcForget Commands this returns.
//
//   * Activate(timers, now) when this member becomes leader (from
//     StateMachine::PendingTxnDeadlines(), full durations: a failover can lengthen
//     a timeout, never shorten it).
//   * OnTimer(timer, now) for every ApplyResult::tpc_timers entry: a transaction
//     has at most one timer, so a decision's kForget replaces its kTimeout.
//   * OnForgotten(txn_id) for every ApplyResult::tpc_forgotten entry.
//   * TakeExpired(now): a Command for every timer past its deadline that was not
//     proposed within the last `retry` (a lost proposal is retried; a stale one is
//     ignored by the state machine).
//   * Deactivate() when leadership is lost.
//
// Thread-safety: all methods are thread-safe (the apply thread reports timers,
// the server's timer asks for expiries).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "coord/server/state_machine.h"
#include "server/deadline_set.h"
#include "state.pb.h"

namespace coord::server {

class TpcTimerTracker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TpcTimerTracker(std::chrono::milliseconds retry = std::chrono::milliseconds(1000))
      : timers_(retry) {}

  void Activate(const std::vector<TpcTimer>& timers, Clock::time_point now);
  void Deactivate();
  bool active() const;

  void OnTimer(const TpcTimer& timer, Clock::time_point now);
  void OnForgotten(uint64_t txn_id);

  // One Command per timer due; empty when nothing is due or the tracker is inactive.
  std::vector<coord::state::Command> TakeExpired(Clock::time_point now);

  size_t size() const;

 private:
  DeadlineSet<uint64_t, TpcTimerKind> timers_;  // by txn id
};

}  // namespace coord::server
