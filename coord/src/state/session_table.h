// SessionTable: live sessions, their TTL bookkeeping and their ephemeral keys.
//
// Invariants: ids are handed out from a counter (1, 2, ...) that never goes back;
// 0 <= remaining_ms <= ttl_ms (a checkpoint may record 0); `keys` are exactly the
// live keys whose latest version names this session (kept in step by
// StateMachine::Impl on every put and delete, rebuilt from the keys on restore).
//
// Thread-safety: none (owned by StateMachine::Impl).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

struct Session {
  int64_t ttl_ms = 0;
  int64_t remaining_ms = 0;
  uint64_t renewed_index = 0;
  std::set<std::string> keys;
};

class SessionTable {
 public:
  // Creates a session with an already clamped TTL; returns its id.
  int64_t Create(int64_t ttl_ms, uint64_t raft_index);

  Session* Find(int64_t id);
  const Session* Find(int64_t id) const;
  // True if `id` was handed out at some point (it may have ended since).
  bool WasIssued(int64_t id) const { return id >= 1 && id <= last_id_; }

  // Removes the session; its keys must have been deleted by the caller.
  void Erase(int64_t id) { sessions_.erase(id); }

  void AddKey(int64_t id, const std::string& key);
  void RemoveKey(int64_t id, const std::string& key);

  const std::map<int64_t, Session>& sessions() const { return sessions_; }
  int64_t last_id() const { return last_id_; }

  // Snapshot: sessions and the id counter (keys are rebuilt from the key space).
  void ToSnapshot(coord::state::StateSnapshot* out) const;
  static Result<SessionTable> FromSnapshot(const coord::state::StateSnapshot& snapshot);

 private:
  std::map<int64_t, Session> sessions_;
  int64_t last_id_ = 0;
};

}  // namespace coord::server
