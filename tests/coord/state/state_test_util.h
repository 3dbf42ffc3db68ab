// Helpers for the state machine tests: command builders and a driver that hands
// out increasing Raft indexes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "coord/server/state_machine.h"

namespace coord::server::testing {

namespace pb = coord::v1;
using coord::state::Command;

inline Command PutCmd(const std::string& key, const std::string& value, int64_t session = 0,
                      bool prev_kv = false) {
  Command c;
  c.mutable_put()->set_key(key);
  c.mutable_put()->set_value(value);
  c.mutable_put()->set_session(session);
  c.mutable_put()->set_prev_kv(prev_kv);
  return c;
}

inline Command SequentialCmd(const std::string& prefix, const std::string& value,
                             int64_t session = 0) {
  Command c = PutCmd(prefix, value, session);
  c.mutable_put()->set_sequential(true);
  return c;
}

inline Command DeleteCmd(const std::string& key, bool prefix = false, bool prev_kv = false,
                         const std::string& range_end = "") {
  Command c;
  c.mutable_delete_()->set_key(key);
  c.mutable_delete_()->set_prefix(prefix);
  c.mutable_delete_()->set_prev_kv(prev_kv);
  c.mutable_delete_()->set_range_end(range_end);
  return c;
}

inline Command CompactCmd(int64_t revision) {
  Command c;
  c.mutable_compact()->set_revision(revision);
  return c;
}

inline Command SessionCreateCmd(int64_t ttl_ms) {
  Command c;
  c.mutable_session_create()->set_ttl_ms(ttl_ms);
  return c;
}

inline Command KeepAliveCmd(int64_t id) {
  Command c;
  c.mutable_session_keepalive()->set_session_id(id);
  return c;
}

inline Command CloseCmd(int64_t id) {
  Command c;
  c.mutable_session_close()->set_session_id(id);
  return c;
}

inline Command ExpireCmd(int64_t id, uint64_t renewed_index = 0) {
  Command c;
  auto* t = c.mutable_session_expire()->add_sessions();
  t->set_session_id(id);
  t->set_renewed_index(renewed_index);
  return c;
}

inline Command WithClient(Command c, uint64_t client_id, uint64_t sequence,
                          uint64_t incarnation = 0) {
  c.set_client_id(client_id);
  c.set_sequence(sequence);
  c.set_client_incarnation(incarnation);
  return c;
}

inline pb::RangeRequest RangeReq(const std::string& key, bool prefix = false,
                                 int64_t revision = 0) {
  pb::RangeRequest r;
  r.set_key(key);
  r.set_prefix(prefix);
  r.set_revision(revision);
  return r;
}

// A state machine with a Raft index counter.
class Driver {
 public:
  explicit Driver(StateMachineOptions options = {}) : sm(options) {}

  ApplyResult Apply(const Command& command) { return sm.Apply(++index, command); }

  // The single key's live value, or "<none>".
  std::string Value(const std::string& key, int64_t revision = 0) const {
    pb::Response r = sm.Range(RangeReq(key, false, revision));
    if (r.error().code() != pb::OK) return "<error " + r.error().message() + ">";
    if (r.range().kvs_size() == 0) return "<none>";
    return r.range().kvs(0).value();
  }

  int64_t CreateSession(int64_t ttl_ms = 5000) {
    return Apply(SessionCreateCmd(ttl_ms)).response.session_create().session_id();
  }

  StateMachine sm;
  uint64_t index = 0;
};

}  // namespace coord::server::testing
