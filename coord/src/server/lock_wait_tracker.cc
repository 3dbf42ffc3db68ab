#include "server/lock_wait_tracker.h"

namespace coord::server {

void LockWaitTracker::Activate(const std::vector<LockWaitState>& waits, Clock::time_point now) {
  std::vector<DeadlineSet<uint64_t, Wait>::Item> items;
  for (const LockWaitState& w : waits) {
    if (w.wait_timeout_ms <= 0) continue;
    items.push_back({w.acquire_index, Wait{w.name, w.session},
                     now + std::chrono::milliseconds(w.wait_timeout_ms)});
  }
  waits_.Activate(items);
}

void LockWaitTracker::Deactivate() { waits_.Deactivate(); }

bool LockWaitTracker::active() const { return waits_.active(); }

void LockWaitTracker::OnQueued(const LockWaitState& wait, Clock::time_point now) {
  if (wait.wait_timeout_ms <= 0) return;
  waits_.Set(wait.acquire_index, Wait{wait.name, wait.session},
             now + std::chrono::milliseconds(wait.wait_timeout_ms));
}

void LockWaitTracker::OnLeft(uint64_t acquire_index) { waits_.Erase(acquire_index); }

std::vector<coord::state::Command> LockWaitTracker::TakeExpired(Clock::time_point now) {
  std::vector<coord::state::Command> out;
  waits_.TakeDue(now, [&](uint64_t index, const Wait& w) {
    coord::state::Command c;
    c.mutable_lock_wait_timeout()->set_name(w.name);
    c.mutable_lock_wait_timeout()->set_session(w.session);
    c.mutable_lock_wait_timeout()->set_acquire_index(index);
    out.push_back(std::move(c));
  });
  return out;
}

size_t LockWaitTracker::size() const { return waits_.size(); }

}  // namespace coord::server
