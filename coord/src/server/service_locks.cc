// Service: lock events, lock/election/2PC metrics, and the dispatch of applied
// results to the pushes (see service.h; who receives them: push_registry.h).
//
// A queued acquire is answered twice: its reply (queued, with acquire_index) and
// later a LockEvent (granted with its token, or the wait ended). Both go to the
// connection that sent the acquire, on the member that served it; the event is
// queued only after the reply is in the connection's queue, so the reply always
// comes first. The grant is applied on every member, in log order, possibly before
// the (forwarded) reply reaches the serving member: such early events are kept
// until the reply registers its waiter (PushRegistry).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/service.h"

namespace coord::server {
namespace {

constexpr size_t kMaxHoldsTracked = 10'000;

coord::v1::ErrorCode EndCode(LockWaitEndReason reason) {
  switch (reason) {
    case LockWaitEndReason::kTimedOut:
      return coord::v1::TIMEOUT;
    case LockWaitEndReason::kSessionEnded:
      return coord::v1::SESSION_EXPIRED;
    case LockWaitEndReason::kWithdrawn:
      return coord::v1::NOT_FOUND;
  }
  return coord::v1::INTERNAL;
}

const char* EndMessage(LockWaitEndReason reason) {
  switch (reason) {
    case LockWaitEndReason::kTimedOut:
      return "the wait timeout passed before the lock was granted";
    case LockWaitEndReason::kSessionEnded:
      return "the waiting session ended";
    case LockWaitEndReason::kWithdrawn:
      return "the wait was withdrawn by a release";
  }
  return "unknown";
}

}  // namespace

void Service::OnApplied(const ApplyResult& result) {
  if (result.duplicate) return;
  const auto now = Clock::now();
  const coord::v1::Response& r = result.response;
  if (r.has_lock_acquire() && r.lock_acquire().granted()) metrics_->CountLockAcquired();
  if (r.has_lock_revoke()) {
    metrics_->CountLockRevocation(static_cast<uint64_t>(r.lock_revoke().revoked_sessions_size()));
  }
  for (size_t i = 0; i < result.election_changes.size(); ++i) metrics_->CountElectionChange();
  if (!result.election_changes.empty()) pushes_.PushElectionChanges(result.election_changes);
  for (size_t i = 0; i < result.tpc_prepares.size(); ++i) metrics_->CountTpcBegun();
  for (const TpcDecision& d : result.tpc_decisions) {
    metrics_->CountTpcDecided(d.state == coord::v1::TPC_COMMITTED);
  }
  if (!result.tpc_prepares.empty() || !result.tpc_decisions.empty()) pushes_.PushTpcEvents(result);
  if (!result.expired_sessions.empty() || !result.closed_sessions.empty()) {
    EndHolds(result.expired_sessions, now);
    EndHolds(result.closed_sessions, now);
  }
  if (result.lock_grants.empty() && result.lock_waits_ended.empty() &&
      result.lock_waits_queued.empty()) {
    return;
  }
  std::vector<coord::v1::LockEvent> events;
  {
    std::lock_guard lock(mu_);
    for (const LockWaitState& w : result.lock_waits_queued) wait_started_[w.acquire_index] = now;
    for (const LockGrant& g : result.lock_grants) {
      metrics_->CountLockAcquired();
      auto it = wait_started_.find(g.acquire_index);
      if (it != wait_started_.end()) {
        metrics_->ObserveLockWait(now - it->second);
        wait_started_.erase(it);
      }
      coord::v1::LockEvent e;
      e.set_name(g.name);
      e.set_session(g.session);
      e.set_acquire_index(g.acquire_index);
      e.set_granted(true);
      e.set_token(g.token);
      e.set_shared(g.shared);
      events.push_back(std::move(e));
    }
    for (const LockWaitEnded& w : result.lock_waits_ended) {
      wait_started_.erase(w.acquire_index);
      if (w.reason == LockWaitEndReason::kTimedOut) metrics_->CountLockWaitTimeout();
      if (w.reason == LockWaitEndReason::kSessionEnded) metrics_->CountLockWaitSessionEnded();
      coord::v1::LockEvent e;
      e.set_name(w.name);
      e.set_session(w.session);
      e.set_acquire_index(w.acquire_index);
      e.mutable_error()->set_code(EndCode(w.reason));
      e.mutable_error()->set_message(std::string(EndMessage(w.reason)) + " (lock " + w.name + ")");
      events.push_back(std::move(e));
    }
  }
  for (coord::v1::LockEvent& e : events) DeliverLockEvent(std::move(e));
}

void Service::DeliverLockEvent(coord::v1::LockEvent event) {
  const bool granted = event.granted();
  const std::string name = event.name();
  const int64_t session = event.session();
  if (pushes_.DeliverLockEvent(std::move(event)) && granted) NoteHoldStarted(name, session);
}

void Service::RegisterLockWaiter(const std::shared_ptr<ClientSink>& sink, bool text,
                                 const coord::v1::Request& request,
                                 const coord::v1::Response& response) {
  const PushRegistry::LockWait wait{request.lock_acquire().name(), request.lock_acquire().session(),
                                    response.lock_acquire().acquire_index()};
  // Under the state lock: a restore cannot slip between the check and the
  // registration (Resync then sees the waiter).
  const bool granted = adapter_->Read(
      [&](const StateMachine& state) { return pushes_.AddLockWaiter(sink, text, wait, state); });
  if (granted) NoteHoldStarted(wait.name, wait.session);
}

void Service::NoteHoldStarted(const std::string& lock, int64_t session) {
  std::lock_guard guard(mu_);
  if (hold_started_.size() < kMaxHoldsTracked) hold_started_[{lock, session}] = Clock::now();
}

void Service::NoteLockReply(const coord::v1::Request& request,
                            const coord::v1::Response& response) {
  if (response.has_lock_acquire() && response.lock_acquire().granted()) {
    NoteHoldStarted(request.lock_acquire().name(), request.lock_acquire().session());
  } else if (response.has_lock_release()) {
    std::lock_guard lock(mu_);
    auto it = hold_started_.find({request.lock_release().name(), request.lock_release().session()});
    if (it == hold_started_.end()) return;
    if (response.lock_release().was_holder()) metrics_->ObserveLockHold(Clock::now() - it->second);
    hold_started_.erase(it);
  }
}

void Service::EndHolds(const std::vector<int64_t>& sessions, Clock::time_point now) {
  if (sessions.empty()) return;
  // A session's end releases every lock it held (the state machine does it in the
  // same command); the holds this member timed end here, not at a release reply.
  std::lock_guard lock(mu_);
  for (auto it = hold_started_.begin(); it != hold_started_.end();) {
    if (std::find(sessions.begin(), sessions.end(), it->first.second) != sessions.end()) {
      metrics_->ObserveLockHold(now - it->second);
      it = hold_started_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace coord::server
