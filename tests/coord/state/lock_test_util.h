// Command builders for the lock and election tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {

inline Command AcquireCmd(const std::string& name, int64_t session, bool wait = true,
                          bool shared = false, int64_t wait_timeout_ms = 0) {
  Command c;
  pb::LockAcquireRequest* a = c.mutable_lock_acquire();
  a->set_name(name);
  a->set_session(session);
  a->set_wait(wait);
  a->set_shared(shared);
  a->set_wait_timeout_ms(wait_timeout_ms);
  return c;
}

inline Command TryAcquireCmd(const std::string& name, int64_t session, bool shared = false) {
  return AcquireCmd(name, session, /*wait=*/false, shared);
}

inline Command SharedCmd(const std::string& name, int64_t session) {
  return AcquireCmd(name, session, /*wait=*/true, /*shared=*/true);
}

inline Command ReleaseCmd(const std::string& name, int64_t session) {
  Command c;
  c.mutable_lock_release()->set_name(name);
  c.mutable_lock_release()->set_session(session);
  return c;
}

inline Command RevokeCmd(const std::string& name) {
  Command c;
  c.mutable_lock_revoke()->set_name(name);
  return c;
}

inline Command WaitTimeoutCmd(const std::string& name, int64_t session, uint64_t acquire_index) {
  Command c;
  c.mutable_lock_wait_timeout()->set_name(name);
  c.mutable_lock_wait_timeout()->set_session(session);
  c.mutable_lock_wait_timeout()->set_acquire_index(acquire_index);
  return c;
}

inline Command CampaignCmd(const std::string& name, int64_t session, const std::string& value) {
  Command c;
  c.mutable_election_campaign()->set_name(name);
  c.mutable_election_campaign()->set_session(session);
  c.mutable_election_campaign()->set_value(value);
  return c;
}

inline Command ResignCmd(const std::string& name, int64_t session) {
  Command c;
  c.mutable_election_resign()->set_name(name);
  c.mutable_election_resign()->set_session(session);
  return c;
}

inline Command ProclaimCmd(const std::string& name, int64_t session, const std::string& value) {
  Command c;
  c.mutable_election_proclaim()->set_name(name);
  c.mutable_election_proclaim()->set_session(session);
  c.mutable_election_proclaim()->set_value(value);
  return c;
}

inline pb::LockInfo Inspect(const Driver& d, const std::string& name) {
  pb::LockInspectRequest r;
  r.set_name(name);
  return d.sm.LockInspect(r).lock_inspect().lock();
}

// Holder sessions of a lock, in session order.
inline std::vector<int64_t> Holders(const Driver& d, const std::string& name) {
  std::vector<int64_t> out;
  const pb::LockInfo info = Inspect(d, name);
  for (const pb::LockHolder& h : info.holders()) out.push_back(h.session());
  return out;
}

// Waiting sessions of a lock, in queue order.
inline std::vector<int64_t> Waiters(const Driver& d, const std::string& name) {
  std::vector<int64_t> out;
  const pb::LockInfo info = Inspect(d, name);
  for (const pb::LockWaiter& w : info.waiters()) out.push_back(w.session());
  return out;
}

// Sessions granted by one applied command, in report order.
inline std::vector<int64_t> Granted(const ApplyResult& r) {
  std::vector<int64_t> out;
  for (const LockGrant& g : r.lock_grants) out.push_back(g.session);
  return out;
}

inline pb::Response LeaderOf(const Driver& d, const std::string& name) {
  pb::ElectionLeaderRequest r;
  r.set_name(name);
  return d.sm.ElectionLeader(r);
}

}  // namespace coord::server::testing
