#include "server/tpc_timer_tracker.h"

namespace coord::server {

void TpcTimerTracker::Activate(const std::vector<TpcTimer>& timers, Clock::time_point now) {
  std::lock_guard lock(mu_);
  active_ = true;
  timers_.clear();
  for (const TpcTimer& t : timers) {
    timers_[t.txn_id] = Entry{t.kind, now + std::chrono::milliseconds(t.after_ms), std::nullopt};
  }
}

void TpcTimerTracker::Deactivate() {
  std::lock_guard lock(mu_);
  active_ = false;
  timers_.clear();
}

bool TpcTimerTracker::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

void TpcTimerTracker::OnTimer(const TpcTimer& timer, Clock::time_point now) {
  std::lock_guard lock(mu_);
  // Inactive: Activate() reloads every timer from the state machine.
  if (!active_) return;
  timers_[timer.txn_id] =
      Entry{timer.kind, now + std::chrono::milliseconds(timer.after_ms), std::nullopt};
}

void TpcTimerTracker::OnForgotten(uint64_t txn_id) {
  std::lock_guard lock(mu_);
  timers_.erase(txn_id);
}

std::vector<coord::state::Command> TpcTimerTracker::TakeExpired(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<coord::state::Command> out;
  if (!active_) return out;
  for (auto& [txn_id, e] : timers_) {
    if (e.deadline > now) continue;
    if (e.proposed_at && now - *e.proposed_at < retry_) continue;
    e.proposed_at = now;
    coord::state::Command c;
    if (e.kind == TpcTimerKind::kTimeout) {
      c.mutable_tpc_timeout()->set_txn_id(txn_id);
    } else {
      c.mutable_tpc_forget()->set_txn_id(txn_id);
    }
    out.push_back(std::move(c));
  }
  return out;
}

size_t TpcTimerTracker::size() const {
  std::lock_guard lock(mu_);
  return timers_.size();
}

}  // namespace coord::server
