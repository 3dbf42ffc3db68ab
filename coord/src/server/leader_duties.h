// LeaderDuties: what only the leader does on the server's timer. The leader's
// deadline trackers (sessions, lock waits, 2PC timers; each a DeadlineSet) are
// active exactly while this member leads: when it becomes leader they are
// loaded from the applied state (under the state lock, so no renewal slips
// between reading and activating), when it loses leadership they are dropped.
// While leading, every tick proposes what they hand out — session expiries, lock
// wait timeouts, 2PC timeouts and forgets — and, once per checkpoint interval, a
// session checkpoint. These commands are idempotent in the state machine, so a
// lost or duplicated proposal costs nothing but a retry (the trackers re-offer
// a due entry once per retry interval).
//
// Thread-safety: Tick from one thread at a time (the server's timer).
#pragma once

#include <chrono>

#include "server/lock_wait_tracker.h"
#include "server/raft_host.h"
#include "server/session_tracker.h"
#include "server/state_adapter.h"
#include "server/tpc_timer_tracker.h"

namespace coord::server {

class LeaderDuties {
 public:
  using Clock = std::chrono::steady_clock;

  struct Parts {
    StateAdapter* state = nullptr;
    RaftHost* raft = nullptr;
    SessionTracker* sessions = nullptr;
    LockWaitTracker* lock_waits = nullptr;  // optional
    TpcTimerTracker* tpc = nullptr;         // optional
  };
  // All borrowed. `checkpoint_interval`: between session checkpoints (the
  // election timeout: a new leader extends a dead session by about that much);
  // `proposal_timeout`: the deadline of each proposal.
  LeaderDuties(Parts parts, std::chrono::milliseconds checkpoint_interval,
               std::chrono::milliseconds proposal_timeout);

  // One tick. `leading`: this member is the leader and has not failed.
  void Tick(bool leading, Clock::time_point now);

 private:
  void Propose(const coord::state::Command& command, Clock::time_point now);

  const Parts parts_;
  const std::chrono::milliseconds checkpoint_interval_;
  const std::chrono::milliseconds proposal_timeout_;
  bool leading_ = false;
  Clock::time_point next_checkpoint_{};
};

}  // namespace coord::server
