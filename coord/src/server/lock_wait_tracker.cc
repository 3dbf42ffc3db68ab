#include "server/lock_wait_tracker.h"

namespace coord::server {

void LockWaitTracker::Activate(const std::vector<LockWaitState>& waits, Clock::time_point now) {
  std::lock_guard lock(mu_);
  active_ = true;
  waits_.clear();
  for (const LockWaitState& w : waits) {
    if (w.wait_timeout_ms <= 0) continue;
    waits_[w.acquire_index] =
        Entry{w.name, w.session, now + std::chrono::milliseconds(w.wait_timeout_ms), std::nullopt};
  }
}

void LockWaitTracker::Deactivate() {
  std::lock_guard lock(mu_);
  active_ = false;
  waits_.clear();
}

bool LockWaitTracker::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

void LockWaitTracker::OnQueued(const LockWaitState& wait, Clock::time_point now) {
  std::lock_guard lock(mu_);
  // Inactive: Activate() reloads every queued wait from the state machine.
  if (!active_ || wait.wait_timeout_ms <= 0) return;
  waits_[wait.acquire_index] = Entry{
      wait.name, wait.session, now + std::chrono::milliseconds(wait.wait_timeout_ms), std::nullopt};
}

void LockWaitTracker::OnLeft(uint64_t acquire_index) {
  std::lock_guard lock(mu_);
  waits_.erase(acquire_index);
}

std::vector<coord::state::Command> LockWaitTracker::TakeExpired(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<coord::state::Command> out;
  if (!active_) return out;
  for (auto& [index, e] : waits_) {
    if (e.deadline > now) continue;
    if (e.proposed_at && now - *e.proposed_at < retry_) continue;
    e.proposed_at = now;
    coord::state::Command c;
    c.mutable_lock_wait_timeout()->set_name(e.name);
    c.mutable_lock_wait_timeout()->set_session(e.session);
    c.mutable_lock_wait_timeout()->set_acquire_index(index);
    out.push_back(std::move(c));
  }
  return out;
}

size_t LockWaitTracker::size() const {
  std::lock_guard lock(mu_);
  return waits_.size();
}

}  // namespace coord::server
