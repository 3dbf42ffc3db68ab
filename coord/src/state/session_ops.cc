// Sessions: create, keepalive, close, and the leader-proposed expiry and checkpoint.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "state/state_machine_impl.h"

namespace coord::server {

int64_t StateMachine::Impl::ClampTtl(int64_t ttl_ms) const {
  if (ttl_ms == 0) ttl_ms = options_.default_session_ttl_ms;
  return std::clamp(ttl_ms, options_.min_session_ttl_ms,
                    std::max(options_.min_session_ttl_ms, options_.max_session_ttl_ms));
}

Status StateMachine::Impl::UnknownSession(int64_t id) const {
  if (id <= 0) return Status::InvalidArgument("session id must be positive");
  if (!sessions_.WasIssued(id)) {
    return Status::NotFound("session " + std::to_string(id) + " was never created");
  }
  return Status(StatusCode::kSessionExpired, "session " + std::to_string(id) + " has ended");
}

Status StateMachine::Impl::SessionCreate(const coord::v1::SessionCreateRequest& req,
                                         uint64_t raft_index,
                                         coord::v1::SessionCreateResponse* out) {
  if (req.ttl_ms() < 0) return Status::InvalidArgument("ttl_ms must not be negative");
  const int64_t ttl = ClampTtl(req.ttl_ms());
  if (sessions_.sessions().size() >= options_.max_sessions) {
    return Status::ResourceExhausted(
        "the ensemble holds " + std::to_string(sessions_.sessions().size()) +
        " sessions, its limit; close unused sessions (or let them expire) and retry");
  }
  out->set_session_id(sessions_.Create(ttl, raft_index));
  out->set_ttl_ms(ttl);
  return Status::Ok();
}

Status StateMachine::Impl::SessionKeepAlive(const coord::v1::SessionKeepAliveRequest& req,
                                            uint64_t raft_index,
                                            coord::v1::SessionKeepAliveResponse* out) {
  Session* s = sessions_.Find(req.session_id());
  if (s == nullptr) return UnknownSession(req.session_id());
  s->remaining_ms = s->ttl_ms;
  s->renewed_index = raft_index;
  out->set_session_id(req.session_id());
  out->set_ttl_ms(s->ttl_ms);
  return Status::Ok();
}

void StateMachine::Impl::EndSessions(const std::vector<int64_t>& ids, ApplyResult* result) {
  // Locks and candidacies first, while the sessions still exist: nothing is
  // granted to a session that ends in this command.
  locks_.EndSessions(ids, &result->lock_grants, &result->lock_waits_ended);
  elections_.EndSessions(ids, &result->election_changes);
  // All keys of all ending sessions go at one revision.
  const int64_t revision = keys_.revision() + 1;
  for (int64_t id : ids) {
    const Session* s = sessions_.Find(id);
    if (s == nullptr) continue;
    // Copy: DeleteKey edits the session's key set.
    const std::set<std::string> keys = s->keys;
    for (const std::string& key : keys) DeleteKey(key, revision);
    sessions_.Erase(id);
  }
}

Status StateMachine::Impl::SessionClose(const coord::v1::SessionCloseRequest& req,
                                        ApplyResult* result) {
  if (sessions_.Find(req.session_id()) == nullptr) return UnknownSession(req.session_id());
  EndSessions({req.session_id()}, result);
  result->closed_sessions.push_back(req.session_id());
  return Status::Ok();
}

void StateMachine::Impl::SessionExpire(const coord::state::SessionExpire& req,
                                       ApplyResult* result) {
  std::vector<int64_t> ids;
  std::set<int64_t> seen;
  for (const coord::state::SessionExpire::Target& t : req.sessions()) {
    const Session* s = sessions_.Find(t.session_id());
    // Skip ended sessions, repeats, and sessions renewed after the leader decided.
    if (s == nullptr || !seen.insert(t.session_id()).second) continue;
    if (t.renewed_index() != 0 && t.renewed_index() != s->renewed_index) continue;
    ids.push_back(t.session_id());
  }
  EndSessions(ids, result);
  result->expired_sessions = ids;
}

void StateMachine::Impl::SessionCheckpoint(const coord::state::SessionCheckpoint& req) {
  for (const coord::state::SessionCheckpoint::Entry& e : req.sessions()) {
    Session* s = sessions_.Find(e.session_id());
    if (s == nullptr) continue;
    if (e.renewed_index() != 0 && e.renewed_index() != s->renewed_index) continue;
    s->remaining_ms = std::clamp<int64_t>(e.remaining_ms(), 0, s->ttl_ms);
  }
}

}  // namespace coord::server
