#include "server/session_tracker.h"

#include <algorithm>

namespace coord::server {

void SessionTracker::Activate(const std::vector<SessionState>& sessions, Clock::time_point now) {
  std::lock_guard lock(mu_);
  active_ = true;
  sessions_.clear();
  for (const SessionState& s : sessions) {
    sessions_[s.session_id] =
        Entry{now + std::chrono::milliseconds(std::max<int64_t>(s.remaining_ms, 0)),
              s.renewed_index, std::nullopt, std::chrono::milliseconds(s.ttl_ms), now};
  }
}

void SessionTracker::Deactivate() {
  std::lock_guard lock(mu_);
  active_ = false;
  sessions_.clear();
}

bool SessionTracker::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

void SessionTracker::OnRenewed(int64_t session_id, int64_t ttl_ms, uint64_t renewed_index,
                               Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!active_) return;  // Activate() reloads everything from the state machine
  sessions_[session_id] = Entry{now + std::chrono::milliseconds(ttl_ms), renewed_index,
                                std::nullopt, std::chrono::milliseconds(ttl_ms), now};
}

void SessionTracker::OnEnded(int64_t session_id) {
  std::lock_guard lock(mu_);
  sessions_.erase(session_id);
}

std::optional<coord::state::Command> SessionTracker::TakeExpired(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!active_) return std::nullopt;
  coord::state::Command command;
  for (auto& [id, e] : sessions_) {
    if (e.deadline > now) continue;
    if (e.proposed_at && now - *e.proposed_at < retry_) continue;
    e.proposed_at = now;
    auto* target = command.mutable_session_expire()->add_sessions();
    target->set_session_id(id);
    target->set_renewed_index(e.renewed_index);
  }
  if (!command.has_session_expire()) return std::nullopt;
  return command;
}

std::optional<coord::state::Command> SessionTracker::MakeCheckpoint(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!active_ || sessions_.empty()) return std::nullopt;
  coord::state::Command command;
  size_t taken = 0;
  for (auto& [id, e] : sessions_) {
    if (now - e.recorded_at < e.ttl / 2) continue;  // the state's value is fresh enough
    if (++taken > kMaxCheckpointSessions) break;
    e.recorded_at = now;
    auto* entry = command.mutable_session_checkpoint()->add_sessions();
    entry->set_session_id(id);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e.deadline - now);
    entry->set_remaining_ms(std::max<int64_t>(left.count(), 0));
    entry->set_renewed_index(e.renewed_index);
  }
  if (!command.has_session_checkpoint()) return std::nullopt;
  return command;
}

size_t SessionTracker::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace coord::server
