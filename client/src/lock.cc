#include "coord/client/lock.h"

#include <algorithm>
#include <future>
#include <optional>

#include "session_state.h"

namespace coord {
namespace client_internal {

using coord::v1::Request;
using coord::v1::Response;

namespace {

// A failure after which the ensemble may still hold something of ours: the
// outcome is unknown (kTimeout), or the request was not applied (kUnavailable)
// and a release must be tried again.
bool Transient(StatusCode code) {
  return code == StatusCode::kTimeout || code == StatusCode::kUnavailable;
}

// A release's outcome: gone with the session, or never queued, both mean that
// nothing is held.
Status ReleaseOutcome(const Result<Response>& resp) {
  if (resp.ok()) return Status::Ok();
  const StatusCode code = resp.status().code();
  if (code == StatusCode::kSessionExpired || code == StatusCode::kNotFound) return Status::Ok();
  return resp.status();
}

}  // namespace

// The shared part of a Lock: local admission (threads of this process), the
// remote grant, and the wait for a pushed LockEvent.
//
// A queued acquire is answered by a LockEvent carrying its acquire_index, pushed
// only to the connection whose acquire registered the wait. The reply that
// queues us is processed on the I/O thread before any later frame, so wait_index_
// is set before the event can arrive. After a reconnect the event would go to the
// dead connection: the waiter re-sends the acquire (same session), which the
// ensemble answers idempotently with the grant or the same queued acquire, and
// registers the wait on the new connection.
//
// A release (or the withdrawal of a try whose reply was lost) whose outcome is
// unknown is re-sent in the background while the session lives
// (release_pending_); no new acquire starts until it has settled, so a late
// release can never end a newer grant.
class LockState : public std::enable_shared_from_this<LockState> {
 public:
  LockState(std::shared_ptr<Core> core, std::shared_ptr<SessionState> session, std::string name)
      : core_(std::move(core)), session_(std::move(session)), name_(std::move(name)) {}

  void Start() {
    std::weak_ptr<LockState> weak = shared_from_this();
    Listener l;
    l.on_push = [weak](const coord::v1::ServerMessage& m, uint64_t) {
      auto s = weak.lock();
      if (!s || !m.has_lock()) return;
      const coord::v1::LockEvent& e = m.lock();
      std::lock_guard lock(s->mu_);
      if (e.name() != s->name_ || e.session() != s->session_->id() || s->wait_index_ == 0 ||
          e.acquire_index() != s->wait_index_) {
        return;
      }
      s->event_ = e;
      s->cv_.notify_all();
    };
    l.on_connected = [weak](uint64_t epoch) {
      auto s = weak.lock();
      if (!s) return;
      std::lock_guard lock(s->mu_);
      if (s->wait_index_ != 0 && epoch != s->wait_epoch_) {
        s->reconnected_ = true;
        s->cv_.notify_all();
      }
    };
    listener_ = core_->AddListener(std::move(l));
    hook_ = session_->AddLostHook([weak] {
      auto s = weak.lock();
      if (!s) return;
      std::lock_guard lock(s->mu_);
      s->session_lost_ = true;
      s->release_pending_ = false;  // the session's end released everything
      s->cv_.notify_all();
    });
  }

  void Stop() {
    core_->RemoveListener(listener_);
    session_->RemoveLostHook(hook_);
  }

  Result<int64_t> Acquire(bool shared, Lock::Duration timeout);
  Status Release(bool shared);

  int64_t token() const {
    std::lock_guard lock(mu_);
    return token_;
  }
  bool held() const {
    std::lock_guard lock(mu_);
    return remote_held_ && !session_->lost();
  }
  bool lost() const {
    std::lock_guard lock(mu_);
    return token_ != 0 && session_->lost();
  }
  Status last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }
  void set_last_error(Status s) {
    std::lock_guard lock(mu_);
    last_error_ = std::move(s);
  }
  bool any_local_hold() const {
    std::lock_guard lock(mu_);
    return local_exclusive_ || local_shared_ > 0;
  }

 private:
  Result<int64_t> RemoteAcquire(bool shared, Clock::time_point deadline, bool try_only);
  Status RemoteRelease();
  Request ReleaseRequest() const;
  // Starts the background release unless one is running.
  void ResolveInBackground();
  void SendBackgroundRelease();
  void SettleRelease(Status outcome);

  const std::shared_ptr<Core> core_;
  const std::shared_ptr<SessionState> session_;
  const std::string name_;
  uint64_t listener_ = 0;
  uint64_t hook_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Local admission.
  bool busy_ = false;  // a thread is talking to the ensemble for this object
  bool local_exclusive_ = false;
  int local_shared_ = 0;
  // The remote grant.
  bool remote_held_ = false;
  int64_t token_ = 0;
  Status last_error_;
  bool release_pending_ = false;  // a release is being retried in the background
  // The current wait (0: none), set on the I/O thread.
  uint64_t wait_index_ = 0;
  uint64_t wait_epoch_ = 0;
  bool reconnected_ = false;
  bool session_lost_ = false;
  std::optional<coord::v1::LockEvent> event_;
};

Result<int64_t> LockState::Acquire(bool shared, Lock::Duration timeout) {
  const bool try_only = timeout.count() <= 0;
  const Clock::time_point deadline = client_internal::DeadlineAfter(timeout);
  std::unique_lock lock(mu_);
  // Threads sharing this object exclude each other like a shared_timed_mutex.
  if (shared && local_shared_ > 0 && remote_held_ && !busy_) {
    ++local_shared_;
    return token_;
  }
  auto can_enter = [&] {
    if (busy_ || local_exclusive_ || release_pending_) return false;
    return shared || local_shared_ == 0;
  };
  const auto release_pending_status = [&](StatusCode code) {
    return Status(code, "lock \"" + name_ +
                            "\": the release of an earlier grant is not confirmed yet (it is "
                            "retried in the background)");
  };
  if (!can_enter()) {
    if (try_only) {
      if (release_pending_ && !busy_ && !local_exclusive_ && local_shared_ == 0) {
        return release_pending_status(StatusCode::kUnavailable);
      }
      return Status::Conflict("lock \"" + name_ + "\" is held by this process");
    }
    if (!cv_.wait_until(lock, deadline, can_enter)) {
      if (release_pending_) return release_pending_status(StatusCode::kTimeout);
      return Status::Timeout("lock \"" + name_ + "\" is held by another thread of this process");
    }
    if (shared && local_shared_ > 0 && remote_held_) {
      ++local_shared_;
      return token_;
    }
  }
  busy_ = true;
  lock.unlock();
  Result<int64_t> r = RemoteAcquire(shared, deadline, try_only);
  lock.lock();
  busy_ = false;
  if (r.ok()) {
    remote_held_ = true;
    token_ = *r;
    if (shared) {
      ++local_shared_;
    } else {
      local_exclusive_ = true;
    }
  }
  cv_.notify_all();
  return r;
}

Result<int64_t> LockState::RemoteAcquire(bool shared, Clock::time_point deadline, bool try_only) {
  const auto lost_status = [&] {
    return Status(StatusCode::kSessionExpired, "session " + std::to_string(session_->id()) +
                                                   " is lost; cannot hold lock \"" + name_ + "\"");
  };
  bool queued = false;  // a wait of ours may be in the ensemble's queue
  auto withdraw = [&] {
    if (queued) RemoteRelease().IgnoreError();
  };
  while (true) {
    if (session_->lost()) {
      withdraw();
      return lost_status();
    }
    const auto now = Clock::now();
    if (!try_only && now >= deadline) {
      withdraw();
      return Status::Timeout("lock \"" + name_ + "\" not granted before the deadline");
    }
    Request r;
    auto* a = r.mutable_lock_acquire();
    a->set_name(name_);
    a->set_session(session_->id());
    a->set_shared(shared);
    a->set_wait(!try_only);
    if (!try_only && deadline != Clock::time_point::max()) {
      // The ensemble drops the wait at our deadline too, if we cannot withdraw it.
      a->set_wait_timeout_ms(std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()));
    }
    const Clock::time_point call_deadline =
        try_only ? core_->DeadlineFor(Lock::Duration(0))
                 : std::min(deadline, core_->DeadlineFor(Lock::Duration(0)));
    {
      std::lock_guard lock(mu_);
      wait_index_ = 0;
      event_.reset();
      reconnected_ = false;
    }
    auto promise = std::make_shared<std::promise<Result<Response>>>();
    auto future = promise->get_future();
    std::weak_ptr<LockState> weak = shared_from_this();
    core_->Submit(std::move(r), call_deadline,
                  [weak, promise](Result<Response> resp, uint64_t epoch) {
                    if (auto s = weak.lock(); s && resp.ok() && !resp->lock_acquire().granted()) {
                      // Before any later frame: the grant event will find the wait.
                      std::lock_guard lock(s->mu_);
                      s->wait_index_ = resp->lock_acquire().acquire_index();
                      s->wait_epoch_ = epoch;
                    }
                    promise->set_value(std::move(resp));
                  });
    Result<Response> resp = future.get();
    if (!resp.ok()) {
      const bool transient = Transient(resp.status().code());
      if (transient && try_only && !session_->lost()) {
        // The try may have been granted: release whatever it got.
        ResolveInBackground();
        return Status(resp.status().code(),
                      resp.status().message() + "; any grant it got is being released in the "
                                                "background");
      }
      if (!try_only) queued = queued || transient;
      if (transient && !try_only && Clock::now() < deadline) continue;
      withdraw();
      return resp.status();
    }
    const auto& ar = resp->lock_acquire();
    if (ar.granted()) return ar.token();
    queued = true;
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline,
                   [&] { return event_.has_value() || reconnected_ || session_lost_; });
    if (event_.has_value()) {
      coord::v1::LockEvent e = *event_;
      wait_index_ = 0;
      lock.unlock();
      if (e.granted()) return e.token();
      queued = false;
      Status s = StatusFromError(e.error());
      if (s.ok()) s = Status::Internal("lock event without grant or error");
      return s;
    }
    const bool again = reconnected_;
    wait_index_ = 0;
    lock.unlock();
    if (again) continue;  // re-send the acquire on the new connection
    // Session lost or deadline: the loop head withdraws and reports.
  }
}

Request LockState::ReleaseRequest() const {
  Request r;
  r.mutable_lock_release()->set_name(name_);
  r.mutable_lock_release()->set_session(session_->id());
  return r;
}

Status LockState::RemoteRelease() {
  auto resp = core_->CallSync(ReleaseRequest(), core_->DeadlineFor(Lock::Duration(0)));
  Status outcome = ReleaseOutcome(resp);
  if (outcome.ok() || !Transient(outcome.code()) || session_->lost()) return outcome;
  ResolveInBackground();
  return Status(outcome.code(), "release of lock \"" + name_ + "\" not confirmed (" +
                                    outcome.message() +
                                    "); it is retried in the background while the session lives");
}

void LockState::ResolveInBackground() {
  {
    std::lock_guard lock(mu_);
    if (release_pending_) return;
    release_pending_ = true;
  }
  SendBackgroundRelease();
}

void LockState::SendBackgroundRelease() {
  if (session_->lost()) return SettleRelease(Status::Ok());
  // Each attempt waits for a connection up to the client's default timeout, so
  // re-sending at once from the callback does not spin.
  core_->Submit(ReleaseRequest(), core_->DeadlineFor(Lock::Duration(0)),
                [self = shared_from_this()](Result<Response> resp, uint64_t) {
                  Status outcome = ReleaseOutcome(resp);
                  if (!outcome.ok() && Transient(outcome.code()) && !self->session_->lost()) {
                    return self->SendBackgroundRelease();
                  }
                  self->SettleRelease(std::move(outcome));
                });
}

void LockState::SettleRelease(Status outcome) {
  std::lock_guard lock(mu_);
  release_pending_ = false;
  if (!outcome.ok() && !session_->lost()) last_error_ = std::move(outcome);
  cv_.notify_all();
}

Status LockState::Release(bool shared) {
  std::unique_lock lock(mu_);
  if (shared) {
    if (local_shared_ == 0) {
      return Status::InvalidArgument("lock \"" + name_ + "\" is not held shared here");
    }
    if (--local_shared_ > 0) return Status::Ok();
  } else {
    if (!local_exclusive_) {
      return Status::InvalidArgument("lock \"" + name_ + "\" is not held exclusively here");
    }
  }
  // Keep others out while the release travels.
  cv_.wait(lock, [&] { return !busy_; });
  busy_ = true;
  lock.unlock();
  Status s = RemoteRelease();
  lock.lock();
  busy_ = false;
  local_exclusive_ = false;
  remote_held_ = false;
  cv_.notify_all();
  return s;
}

}  // namespace client_internal

Lock::Lock(Session& session, std::string name)
    : session_(session),
      name_(std::move(name)),
      state_(std::make_shared<client_internal::LockState>(session.client().core_, session.state_,
                                                          name_)) {
  state_->Start();
}

Lock::~Lock() {
  if (state_->any_local_hold() && !session_.lost()) {
    // Best effort: release a grant the user forgot; the session's end would anyway.
    while (state_->any_local_hold()) {
      if (!state_->Release(false).ok() && !state_->Release(true).ok()) break;
    }
  }
  state_->Stop();
}

Result<int64_t> Lock::Acquire(Duration timeout) { return state_->Acquire(false, timeout); }
Result<int64_t> Lock::AcquireShared(Duration timeout) { return state_->Acquire(true, timeout); }

Status Lock::Release() {
  Status s = state_->Release(false);
  if (s.code() == StatusCode::kInvalidArgument) s = state_->Release(true);
  return s;
}

void Lock::lock() {
  auto r = state_->Acquire(false, Duration::max());
  if (!r.ok()) throw LockError(r.status());
}

bool Lock::try_lock() { return TryFor(false, Duration(0)); }

void Lock::unlock() { state_->set_last_error(state_->Release(false)); }

void Lock::lock_shared() {
  auto r = state_->Acquire(true, Duration::max());
  if (!r.ok()) throw LockError(r.status());
}

bool Lock::try_lock_shared() { return TryFor(true, Duration(0)); }

void Lock::unlock_shared() { state_->set_last_error(state_->Release(true)); }

bool Lock::TryFor(bool shared, Duration timeout) {
  auto r = state_->Acquire(shared, std::max(timeout, Duration(0)));
  state_->set_last_error(r.status());
  return r.ok();
}

int64_t Lock::token() const { return state_->token(); }
bool Lock::held() const { return state_->held(); }
bool Lock::lost() const { return state_->lost(); }
Status Lock::last_error() const { return state_->last_error(); }

}  // namespace coord
