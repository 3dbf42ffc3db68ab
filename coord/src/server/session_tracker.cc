#include "server/session_tracker.h"

#include <algorithm>

namespace coord::server {

void SessionTracker::Activate(const std::vector<SessionState>& sessions, Clock::time_point now) {
  std::vector<DeadlineSet<int64_t, Record>::Item> items;
  items.reserve(sessions.size());
  for (const SessionState& s : sessions) {
    items.push_back({s.session_id,
                     Record{s.renewed_index, std::chrono::milliseconds(s.ttl_ms), now},
                     now + std::chrono::milliseconds(std::max<int64_t>(s.remaining_ms, 0))});
  }
  sessions_.Activate(items);
}

void SessionTracker::Deactivate() { sessions_.Deactivate(); }

bool SessionTracker::active() const { return sessions_.active(); }

void SessionTracker::OnRenewed(int64_t session_id, int64_t ttl_ms, uint64_t renewed_index,
                               Clock::time_point now) {
  const std::chrono::milliseconds ttl(ttl_ms);
  sessions_.Set(session_id, Record{renewed_index, ttl, now}, now + ttl);
}

void SessionTracker::OnEnded(int64_t session_id) { sessions_.Erase(session_id); }

std::optional<coord::state::Command> SessionTracker::TakeExpired(Clock::time_point now) {
  coord::state::Command command;
  sessions_.TakeDue(now, [&](int64_t id, const Record& r) {
    auto* target = command.mutable_session_expire()->add_sessions();
    target->set_session_id(id);
    target->set_renewed_index(r.renewed_index);
  });
  if (!command.has_session_expire()) return std::nullopt;
  return command;
}

std::optional<coord::state::Command> SessionTracker::MakeCheckpoint(Clock::time_point now) {
  coord::state::Command command;
  size_t taken = 0;
  sessions_.ForEach([&](int64_t id, Record& r, Clock::time_point deadline) {
    if (now - r.recorded_at < r.ttl / 2) return true;  // the state's value is fresh enough
    if (++taken > kMaxCheckpointSessions) return false;
    r.recorded_at = now;
    auto* entry = command.mutable_session_checkpoint()->add_sessions();
    entry->set_session_id(id);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    entry->set_remaining_ms(std::max<int64_t>(left.count(), 0));
    entry->set_renewed_index(r.renewed_index);
    return true;
  });
  if (!command.has_session_checkpoint()) return std::nullopt;
  return command;
}

size_t SessionTracker::size() const { return sessions_.size(); }

}  // namespace coord::server
