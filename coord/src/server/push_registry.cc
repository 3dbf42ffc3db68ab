#include "server/push_registry.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

namespace coord::server {
namespace {

// Early events kept at most (every member keeps the events of acquires served by
// the others here too, until they are pushed out).
constexpr size_t kMaxEarlyLockEvents = 4096;

coord::v1::ServerMessage LockMessage(coord::v1::LockEvent event) {
  coord::v1::ServerMessage m;
  *m.mutable_lock() = std::move(event);
  return m;
}

template <typename List, typename Pred>
void EraseIf(std::map<std::string, List>& by_name, Pred pred) {
  for (auto it = by_name.begin(); it != by_name.end();) {
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(), pred), list.end());
    it = list.empty() ? by_name.erase(it) : std::next(it);
  }
}

}  // namespace

void PushRegistry::PushTo(const Target& target, const coord::v1::ServerMessage& m) {
  if (auto sink = target.sink.lock()) sink->Push(m, target.text);
}

std::optional<coord::v1::LockEvent> PushRegistry::LockOutcome(const LockWait& wait,
                                                             const StateMachine& state) {
  // Not applied here yet (a forwarded reply outran this member's log): its
  // events will come from apply, or from a resync.
  if (state.last_applied_index() < wait.acquire_index) return std::nullopt;
  coord::v1::LockInspectRequest inspect;
  inspect.set_name(wait.name);
  const coord::v1::Response r = state.LockInspect(inspect);
  coord::v1::LockEvent e;
  e.set_name(wait.name);
  e.set_session(wait.session);
  e.set_acquire_index(wait.acquire_index);
  if (r.has_lock_inspect()) {
    const coord::v1::LockInfo& lock = r.lock_inspect().lock();
    for (const coord::v1::LockWaiter& w : lock.waiters()) {
      if (w.acquire_index() == wait.acquire_index) return std::nullopt;  // still queued
    }
    for (const coord::v1::LockHolder& h : lock.holders()) {
      if (h.acquire_index() != wait.acquire_index) continue;
      e.set_granted(true);
      e.set_token(h.token());
      e.set_shared(lock.shared());
      return e;
    }
  }
  // Neither queued nor holding: the wait ended in entries this member skipped.
  if (!state.HasSession(wait.session)) {
    e.mutable_error()->set_code(coord::v1::SESSION_EXPIRED);
    e.mutable_error()->set_message("the waiting session ended (lock " + wait.name + ")");
  } else {
    e.mutable_error()->set_code(coord::v1::TIMEOUT);
    e.mutable_error()->set_message("the wait ended (timed out, withdrawn or granted and revoked) "
                                   "while this member caught up from a snapshot (lock " +
                                   wait.name + ")");
  }
  return e;
}

bool PushRegistry::AddLockWaiter(const std::shared_ptr<ClientSink>& sink, bool text,
                                 const LockWait& wait, const StateMachine& state) {
  if (wait.acquire_index == 0) return false;
  std::optional<coord::v1::LockEvent> now;
  std::lock_guard lock(mu_);
  auto early = early_lock_events_.find(wait.acquire_index);
  if (early != early_lock_events_.end()) {
    now = std::move(early->second);
    early_lock_events_.erase(early);
  } else {
    now = LockOutcome(wait, state);
  }
  if (!now) {
    waiters_[wait.acquire_index] = Waiter{Target{sink, sink->connection_id(), text}, wait};
    return false;
  }
  const bool granted = now->granted();
  sink->Push(LockMessage(std::move(*now)), text);
  return granted;
}

bool PushRegistry::DeliverLockEvent(coord::v1::LockEvent event) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(event.acquire_index());
  if (it == waiters_.end()) {
    // Not (yet) registered here: the reply is still on its way, or another member
    // served the acquire.
    early_lock_events_[event.acquire_index()] = std::move(event);
    while (early_lock_events_.size() > kMaxEarlyLockEvents) {
      early_lock_events_.erase(early_lock_events_.begin());
    }
    return false;
  }
  const Target target = it->second.target;
  waiters_.erase(it);
  PushTo(target, LockMessage(std::move(event)));
  return true;
}

void PushRegistry::AddObserver(const std::shared_ptr<ClientSink>& sink, bool text,
                               const coord::v1::ServerMessage& reply, bool observe,
                               const coord::v1::ElectionLeader& current) {
  std::lock_guard lock(mu_);
  sink->Push(reply, text);
  if (!observe) return;
  coord::v1::ServerMessage first;
  *first.mutable_election() = current;
  sink->Push(first, text);
  observers_[current.name()].push_back(Observer{Target{sink, sink->connection_id(), text}, current});
}

bool PushRegistry::RemoveObserver(uint64_t connection_id, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = observers_.find(name);
  if (it == observers_.end()) return false;
  auto& list = it->second;
  auto o = std::find_if(list.begin(), list.end(), [&](const Observer& x) {
    return x.target.connection_id == connection_id;
  });
  const bool found = o != list.end();
  if (found) list.erase(o);
  if (list.empty()) observers_.erase(it);
  return found;
}

void PushRegistry::PushElectionLocked(const coord::v1::ElectionLeader& event) {
  auto it = observers_.find(event.name());
  if (it == observers_.end()) return;
  coord::v1::ServerMessage m;
  *m.mutable_election() = event;
  auto& list = it->second;
  for (auto o = list.begin(); o != list.end();) {
    auto sink = o->target.sink.lock();
    if (!sink) {
      o = list.erase(o);
      continue;
    }
    if (!google::protobuf::util::MessageDifferencer::Equals(o->last, event)) {
      o->last = event;
      sink->Push(m, o->target.text);
    }
    ++o;
  }
  if (list.empty()) observers_.erase(it);
}

void PushRegistry::PushElectionChanges(const std::vector<ElectionChange>& changes) {
  std::lock_guard lock(mu_);
  for (const ElectionChange& c : changes) {
    coord::v1::ElectionLeader event;
    event.set_name(c.name);
    event.set_session(c.session);
    event.set_value(c.value);
    event.set_term(c.term);
    PushElectionLocked(event);
  }
}

void PushRegistry::AddParticipant(const std::shared_ptr<ClientSink>& sink, bool text,
                                  const coord::v1::ServerMessage& reply, bool subscribe,
                                  const std::string& participant) {
  std::lock_guard lock(mu_);
  sink->Push(reply, text);
  if (subscribe) participants_[participant].push_back(Target{sink, sink->connection_id(), text});
}

void PushRegistry::PushTpcLocked(const std::string& participant, coord::v1::TpcEvent event) {
  auto it = participants_.find(participant);
  if (it == participants_.end()) return;
  event.set_participant(participant);
  coord::v1::ServerMessage m;
  *m.mutable_tpc() = std::move(event);
  auto& list = it->second;
  for (auto p = list.begin(); p != list.end();) {
    auto sink = p->sink.lock();
    if (!sink) {
      p = list.erase(p);
      continue;
    }
    sink->Push(m, p->text);
    ++p;
  }
  if (list.empty()) participants_.erase(it);
}

void PushRegistry::PushTpcEvents(const ApplyResult& result) {
  std::lock_guard lock(mu_);
  if (participants_.empty()) return;
  for (const TpcPrepare& prepare : result.tpc_prepares) {
    coord::v1::TpcEvent event;
    event.set_txn_id(prepare.txn_id);
    event.set_state(coord::v1::TPC_PREPARING);
    event.set_payload(prepare.payload);
    for (const std::string& p : prepare.participants) PushTpcLocked(p, event);
  }
  for (const TpcDecision& decision : result.tpc_decisions) {
    coord::v1::TpcEvent event;
    event.set_txn_id(decision.txn_id);
    event.set_state(decision.state);
    event.set_reason(decision.reason);
    for (const std::string& p : decision.participants) PushTpcLocked(p, event);
  }
}

void PushRegistry::SetSessionOwner(int64_t session, const std::shared_ptr<ClientSink>& sink,
                                   bool text) {
  std::lock_guard lock(mu_);
  auto it = session_owners_.find(session);
  if (it != session_owners_.end()) EraseOwner(it);
  session_owners_.emplace(session, Target{sink, sink->connection_id(), text});
  ++owned_per_connection_[sink->connection_id()];
}

size_t PushRegistry::SessionsOwnedBy(uint64_t connection_id) const {
  std::lock_guard lock(mu_);
  auto it = owned_per_connection_.find(connection_id);
  return it == owned_per_connection_.end() ? 0 : it->second;
}

std::map<int64_t, PushRegistry::Target>::iterator PushRegistry::EraseOwner(
    std::map<int64_t, Target>::iterator it) {
  auto count = owned_per_connection_.find(it->second.connection_id);
  if (count != owned_per_connection_.end() && --count->second == 0) {
    owned_per_connection_.erase(count);
  }
  return session_owners_.erase(it);
}

void PushRegistry::ForgetSession(int64_t session) {
  std::lock_guard lock(mu_);
  auto it = session_owners_.find(session);
  if (it != session_owners_.end()) EraseOwner(it);
}

void PushRegistry::PushSessionsExpired(const std::vector<int64_t>& sessions) {
  std::lock_guard lock(mu_);
  for (int64_t id : sessions) {
    auto it = session_owners_.find(id);
    if (it == session_owners_.end()) continue;
    coord::v1::ServerMessage m;
    m.mutable_session()->set_session_id(id);
    m.mutable_session()->set_expired(true);
    PushTo(it->second, m);  // best effort: only this member's connection hears it
    EraseOwner(it);
  }
}

void PushRegistry::RemoveConnection(uint64_t connection_id) {
  std::lock_guard lock(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    it = it->second.target.connection_id == connection_id ? waiters_.erase(it) : std::next(it);
  }
  EraseIf(observers_,
          [&](const Observer& o) { return o.target.connection_id == connection_id; });
  EraseIf(participants_, [&](const Target& t) { return t.connection_id == connection_id; });
  for (auto it = session_owners_.begin(); it != session_owners_.end();) {
    it = it->second.connection_id == connection_id ? EraseOwner(it) : std::next(it);
  }
}

void PushRegistry::Resync(const StateMachine& state) {
  std::lock_guard lock(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    std::optional<coord::v1::LockEvent> outcome = LockOutcome(it->second.wait, state);
    if (!outcome) {
      ++it;
      continue;
    }
    PushTo(it->second.target, LockMessage(std::move(*outcome)));
    it = waiters_.erase(it);
  }

  std::vector<std::string> elections;
  for (const auto& [name, list] : observers_) elections.push_back(name);
  for (const std::string& name : elections) {
    coord::v1::ElectionLeaderRequest request;
    request.set_name(name);
    const coord::v1::Response r = state.ElectionLeader(request);
    coord::v1::ElectionLeader current;
    if (r.has_election_leader()) {
      current = r.election_leader().leader();
    } else {
      current.set_name(name);  // no leader now
    }
    PushElectionLocked(current);
  }

  std::vector<std::string> names;
  for (const auto& [name, list] : participants_) names.push_back(name);
  for (const std::string& name : names) {
    coord::v1::TpcListRequest request;
    request.set_participant(name);
    const coord::v1::Response r = state.TpcList(request);
    for (const coord::v1::TpcTxnInfo& txn : r.tpc_list().txns()) {
      auto me = std::find_if(txn.participants().begin(), txn.participants().end(),
                             [&](const coord::v1::TpcParticipant& p) { return p.name() == name; });
      if (me == txn.participants().end()) continue;
      coord::v1::TpcEvent event;
      event.set_txn_id(txn.txn_id());
      event.set_state(txn.state());
      if (txn.state() == coord::v1::TPC_PREPARING) {
        if (me->vote() != coord::v1::TPC_VOTE_NONE) continue;  // voted: the decision will come
        event.set_payload(txn.payload());
      } else {
        if (me->acked()) continue;
        event.set_reason(txn.reason());
      }
      PushTpcLocked(name, std::move(event));
    }
  }

  for (auto it = session_owners_.begin(); it != session_owners_.end();) {
    if (state.HasSession(it->first)) {
      ++it;
      continue;
    }
    coord::v1::ServerMessage m;
    m.mutable_session()->set_session_id(it->first);
    m.mutable_session()->set_expired(true);
    PushTo(it->second, m);
    it = EraseOwner(it);
  }
}

size_t PushRegistry::lock_waiters() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace coord::server
