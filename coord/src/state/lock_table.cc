// LockTable: grant, queue, release, revoke, timeout and session end.
//
// Fairness: a request is granted at once only when nobody waits, so a queued
// exclusive waiter is never overtaken by later shared requests. Promote() grants
// from the head while the head fits, which yields "no herd": a release wakes the
// next exclusive waiter, or the run of shared waiters at the head, and nobody else.
#include "state/lock_table.h"

#include <algorithm>
#include <utility>

#include "state/check.h"

namespace coord::server {

namespace {

std::string SessionList(const std::map<int64_t, LockHolderState>& holders) {
  std::string out;
  for (const auto& [session, h] : holders) {
    if (!out.empty()) out += ", ";
    out += std::to_string(session);
  }
  return out;
}

}  // namespace

int64_t Lock::CurrentToken() const {
  int64_t token = 0;
  for (const auto& [session, h] : holders) token = std::max(token, h.token);
  return token;
}

coord::v1::LockInfo Lock::ToInfo(const std::string& name) const {
  coord::v1::LockInfo info;
  info.set_name(name);
  info.set_shared(!holders.empty() && shared);
  for (const auto& [session, h] : holders) {
    coord::v1::LockHolder* out = info.add_holders();
    out->set_session(session);
    out->set_token(h.token);
    out->set_acquire_index(h.acquire_index);
  }
  for (const LockWaiterState& w : waiters) {
    coord::v1::LockWaiter* out = info.add_waiters();
    out->set_session(w.session);
    out->set_shared(w.shared);
    out->set_acquire_index(w.acquire_index);
    out->set_wait_timeout_ms(w.wait_timeout_ms);
  }
  info.set_token(CurrentToken());
  info.set_last_token(last_token);
  return info;
}

const Lock* LockTable::Find(std::string_view name) const {
  auto it = locks_.find(name);
  return it == locks_.end() ? nullptr : &it->second;
}

Result<LockTable::AcquireOutcome> LockTable::Acquire(const std::string& name, int64_t session,
                                                     bool shared, bool wait,
                                                     int64_t wait_timeout_ms, uint64_t raft_index) {
  auto found = locks_.find(name);
  if (found != locks_.end()) {
    const Lock& lock = found->second;
    // Repeats by the same session are answered with what it already has.
    auto held = lock.holders.find(session);
    if (held != lock.holders.end()) {
      if (lock.shared != shared) {
        return Status::Conflict("session " + std::to_string(session) + " already holds lock \"" +
                                name + "\" in " + (lock.shared ? "shared" : "exclusive") + " mode");
      }
      return AcquireOutcome{true, held->second.token, 0, held->second.acquire_index};
    }
    for (size_t i = 0; i < lock.waiters.size(); ++i) {
      const LockWaiterState& w = lock.waiters[i];
      if (w.session != session) continue;
      if (w.shared != shared) {
        return Status::Conflict("session " + std::to_string(session) +
                                " already waits for lock \"" + name + "\" in " +
                                (w.shared ? "shared" : "exclusive") + " mode");
      }
      return AcquireOutcome{false, 0, static_cast<int64_t>(i + 1), w.acquire_index};
    }
    const bool fits = lock.waiters.empty() && (lock.holders.empty() || (lock.shared && shared));
    if (!fits && !wait) {
      std::string msg = "lock \"" + name + "\" is held by session";
      msg += lock.holders.size() > 1 ? "s " : " ";
      msg += SessionList(lock.holders);
      if (lock.shared) msg += " (shared)";
      if (!lock.waiters.empty()) {
        msg += " with " + std::to_string(lock.waiters.size()) + " waiting";
      }
      return Status::Conflict(msg);
    }
  }
  Lock& lock = locks_[name];
  by_session_[session].insert(name);
  const bool fits = lock.waiters.empty() && (lock.holders.empty() || (lock.shared && shared));
  if (fits) {
    lock.shared = shared;
    const int64_t token = ++lock.last_token;
    lock.holders[session] = LockHolderState{token, raft_index};
    return AcquireOutcome{true, token, 0, raft_index};
  }
  COORD_STATE_CHECK(wait);
  lock.waiters.push_back(LockWaiterState{session, shared, raft_index, wait_timeout_ms});
  return AcquireOutcome{false, 0, static_cast<int64_t>(lock.waiters.size()), raft_index};
}

void LockTable::Promote(const std::string& name, Lock* lock, std::vector<LockGrant>* grants) {
  while (!lock->waiters.empty()) {
    const LockWaiterState head = lock->waiters.front();
    const bool fits = lock->holders.empty() || (lock->shared && head.shared);
    if (!fits) break;
    lock->waiters.pop_front();
    lock->shared = head.shared;
    const int64_t token = ++lock->last_token;
    lock->holders[head.session] = LockHolderState{token, head.acquire_index};
    grants->push_back(LockGrant{name, head.session, token, head.shared, head.acquire_index});
  }
}

void LockTable::Unindex(int64_t session, const std::string& name) {
  auto it = by_session_.find(session);
  if (it == by_session_.end()) return;
  it->second.erase(name);
  if (it->second.empty()) by_session_.erase(it);
}

Status LockTable::Release(const std::string& name, int64_t session, bool* was_holder,
                          std::vector<LockGrant>* grants, std::vector<LockWaitEnded>* ended) {
  auto found = locks_.find(name);
  if (found != locks_.end()) {
    Lock& lock = found->second;
    if (lock.holders.erase(session) != 0) {
      *was_holder = true;
      Unindex(session, name);
      Promote(name, &lock, grants);
      return Status::Ok();
    }
    for (auto it = lock.waiters.begin(); it != lock.waiters.end(); ++it) {
      if (it->session != session) continue;
      ended->push_back(
          LockWaitEnded{name, session, it->acquire_index, LockWaitEndReason::kWithdrawn});
      lock.waiters.erase(it);
      *was_holder = false;
      Unindex(session, name);
      // A withdrawn exclusive head may let shared waiters join shared holders.
      Promote(name, &lock, grants);
      return Status::Ok();
    }
  }
  return Status::NotFound("session " + std::to_string(session) +
                          " neither holds nor waits for lock \"" + name + "\"");
}

Result<std::vector<int64_t>> LockTable::Revoke(const std::string& name,
                                               std::vector<LockGrant>* grants) {
  auto found = locks_.find(name);
  if (found == locks_.end() || found->second.holders.empty()) {
    return Status::NotFound("lock \"" + name + "\" is not held");
  }
  Lock& lock = found->second;
  std::vector<int64_t> revoked;
  for (const auto& [session, h] : lock.holders) {
    revoked.push_back(session);
    Unindex(session, name);
  }
  lock.holders.clear();
  Promote(name, &lock, grants);
  return revoked;
}

bool LockTable::TimeoutWait(const std::string& name, int64_t session, uint64_t acquire_index,
                            std::vector<LockGrant>* grants, std::vector<LockWaitEnded>* ended) {
  auto found = locks_.find(name);
  if (found == locks_.end()) return false;
  Lock& lock = found->second;
  auto it = std::find_if(lock.waiters.begin(), lock.waiters.end(), [&](const LockWaiterState& w) {
    return w.session == session && w.acquire_index == acquire_index;
  });
  if (it == lock.waiters.end()) return false;
  lock.waiters.erase(it);
  Unindex(session, name);
  ended->push_back(LockWaitEnded{name, session, acquire_index, LockWaitEndReason::kTimedOut});
  Promote(name, &lock, grants);
  return true;
}

void LockTable::EndSessions(const std::vector<int64_t>& sessions, std::vector<LockGrant>* grants,
                            std::vector<LockWaitEnded>* ended) {
  std::set<std::string> affected;
  for (int64_t session : sessions) {
    auto it = by_session_.find(session);
    if (it == by_session_.end()) continue;
    affected.insert(it->second.begin(), it->second.end());
  }
  const std::set<int64_t> ending(sessions.begin(), sessions.end());
  for (const std::string& name : affected) {
    Lock& lock = locks_.at(name);
    for (auto it = lock.waiters.begin(); it != lock.waiters.end();) {
      if (ending.count(it->session) != 0) {
        ended->push_back(
            LockWaitEnded{name, it->session, it->acquire_index, LockWaitEndReason::kSessionEnded});
        it = lock.waiters.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = lock.holders.begin(); it != lock.holders.end();) {
      it = ending.count(it->first) != 0 ? lock.holders.erase(it) : std::next(it);
    }
  }
  for (int64_t session : ending) by_session_.erase(session);
  for (const std::string& name : affected) Promote(name, &locks_.at(name), grants);
}

void LockTable::ToSnapshot(coord::state::StateSnapshot* out) const {
  for (const auto& [name, lock] : locks_) {
    coord::state::LockRecord* r = out->add_locks();
    r->set_name(name);
    r->set_shared(lock.shared);
    r->set_last_token(lock.last_token);
    for (const auto& [session, h] : lock.holders) {
      coord::state::LockHolderRecord* hr = r->add_holders();
      hr->set_session(session);
      hr->set_token(h.token);
      hr->set_acquire_index(h.acquire_index);
    }
    for (const LockWaiterState& w : lock.waiters) {
      coord::state::LockWaiterRecord* wr = r->add_waiters();
      wr->set_session(w.session);
      wr->set_shared(w.shared);
      wr->set_acquire_index(w.acquire_index);
      wr->set_wait_timeout_ms(w.wait_timeout_ms);
    }
  }
}

Status LockTable::Load(const coord::state::StateSnapshot& snapshot,
                       const std::function<bool(int64_t)>& live_session) {
  const std::string* prev = nullptr;
  for (const coord::state::LockRecord& r : snapshot.locks()) {
    auto bad = [&](const std::string& why) {
      return Status::Corruption("state snapshot: lock \"" + r.name() + "\": " + why);
    };
    if (r.name().empty() || (prev != nullptr && r.name() <= *prev)) {
      return bad("empty or out of order");
    }
    prev = &r.name();
    if (r.last_token() < 0) return bad("negative last_token");
    Lock& lock = locks_[r.name()];
    lock.shared = r.shared();
    lock.last_token = r.last_token();
    std::set<int64_t> tokens;
    int64_t prev_session = 0;
    for (const coord::state::LockHolderRecord& h : r.holders()) {
      if (h.session() <= prev_session || !live_session(h.session())) {
        return bad("holder session " + std::to_string(h.session()) + " unknown or out of order");
      }
      prev_session = h.session();
      if (h.token() <= 0 || h.token() > r.last_token() || !tokens.insert(h.token()).second) {
        return bad("bad token " + std::to_string(h.token()));
      }
      lock.holders[h.session()] = LockHolderState{h.token(), h.acquire_index()};
      by_session_[h.session()].insert(r.name());
    }
    if (!r.shared() && lock.holders.size() > 1) return bad("several exclusive holders");
    for (const coord::state::LockWaiterRecord& w : r.waiters()) {
      if (!live_session(w.session()) || w.wait_timeout_ms() < 0 ||
          !by_session_[w.session()].insert(r.name()).second) {
        return bad("bad waiter session " + std::to_string(w.session()));
      }
      lock.waiters.push_back(
          LockWaiterState{w.session(), w.shared(), w.acquire_index(), w.wait_timeout_ms()});
    }
    if (!lock.waiters.empty()) {
      const bool head_fits = lock.holders.empty() || (lock.shared && lock.waiters.front().shared);
      if (head_fits) return bad("a waiter that should have been granted");
    }
  }
  return Status::Ok();
}

}  // namespace coord::server
