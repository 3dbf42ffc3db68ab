#include "server/tpc_timer_tracker.h"

namespace coord::server {

void TpcTimerTracker::Activate(const std::vector<TpcTimer>& timers, Clock::time_point now) {
  std::vector<DeadlineSet<uint64_t, TpcTimerKind>::Item> items;
  for (const TpcTimer& t : timers) {
    items.push_back({t.txn_id, t.kind, now + std::chrono::milliseconds(t.after_ms)});
  }
  timers_.Activate(items);
}

void TpcTimerTracker::Deactivate() { timers_.Deactivate(); }

bool TpcTimerTracker::active() const { return timers_.active(); }

void TpcTimerTracker::OnTimer(const TpcTimer& timer, Clock::time_point now) {
  timers_.Set(timer.txn_id, timer.kind, now + std::chrono::milliseconds(timer.after_ms));
}

void TpcTimerTracker::OnForgotten(uint64_t txn_id) { timers_.Erase(txn_id); }

std::vector<coord::state::Command> TpcTimerTracker::TakeExpired(Clock::time_point now) {
  std::vector<coord::state::Command> out;
  timers_.TakeDue(now, [&](uint64_t txn_id, TpcTimerKind kind) {
    coord::state::Command c;
    if (kind == TpcTimerKind::kTimeout) {
      c.mutable_tpc_timeout()->set_txn_id(txn_id);
    } else {
      c.mutable_tpc_forget()->set_txn_id(txn_id);
    }
    out.push_back(std::move(c));
  });
  return out;
}

size_t TpcTimerTracker::size() const { return timers_.size(); }

}  // namespace coord::server
