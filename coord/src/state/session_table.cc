#include "state/session_table.h"

#include "state/check.h"

namespace coord::server {

int64_t SessionTable::Create(int64_t ttl_ms, uint64_t raft_index) {
  int64_t id = ++last_id_;
  Session& s = sessions_[id];
  s.ttl_ms = ttl_ms;
  s.remaining_ms = ttl_ms;
  s.renewed_index = raft_index;
  return id;
}

Session* SessionTable::Find(int64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

const Session* SessionTable::Find(int64_t id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

void SessionTable::AddKey(int64_t id, const std::string& key) {
  Session* s = Find(id);
  COORD_STATE_CHECK(s != nullptr);
  s->keys.insert(key);
}

void SessionTable::RemoveKey(int64_t id, const std::string& key) {
  // The session may already be gone: versions in history can name ended sessions,
  // but a live key's owner is always live, so this only tolerates the former.
  Session* s = Find(id);
  if (s != nullptr) s->keys.erase(key);
}

void SessionTable::ToSnapshot(coord::state::StateSnapshot* out) const {
  out->set_last_session_id(last_id_);
  for (const auto& [id, s] : sessions_) {
    coord::state::SessionRecord* r = out->add_sessions();
    r->set_session_id(id);
    r->set_ttl_ms(s.ttl_ms);
    r->set_remaining_ms(s.remaining_ms);
    r->set_renewed_index(s.renewed_index);
  }
}

Result<SessionTable> SessionTable::FromSnapshot(const coord::state::StateSnapshot& snapshot) {
  SessionTable table;
  table.last_id_ = snapshot.last_session_id();
  if (table.last_id_ < 0) return Status::Corruption("state snapshot: bad last_session_id");
  int64_t prev = 0;
  for (const coord::state::SessionRecord& r : snapshot.sessions()) {
    if (r.session_id() <= prev || r.session_id() > table.last_id_ || r.ttl_ms() <= 0 ||
        r.remaining_ms() < 0 || r.remaining_ms() > r.ttl_ms() ||
        r.renewed_index() > snapshot.last_applied_index()) {
      return Status::Corruption("state snapshot: bad session record " +
                                std::to_string(r.session_id()));
    }
    prev = r.session_id();
    Session& s = table.sessions_[r.session_id()];
    s.ttl_ms = r.ttl_ms();
    s.remaining_ms = r.remaining_ms();
    s.renewed_index = r.renewed_index();
  }
  return table;
}

}  // namespace coord::server
