#include "coord/client/session.h"

#include <algorithm>

#include "session_state.h"

namespace coord {
namespace client_internal {

using coord::v1::Request;
using coord::v1::Response;

SessionState::SessionState(std::shared_ptr<Core> core, int64_t id, Duration ttl, Duration margin,
                           Clock::time_point created_send, std::function<void()> on_lost,
                           std::function<void()> on_expired)
    : core_(std::move(core)),
      id_(id),
      ttl_(ttl),
      margin_(margin),
      on_lost_(std::move(on_lost)),
      on_expired_(std::move(on_expired)),
      lost_deadline_(Session::LostDeadline(created_send, ttl, margin)) {}

void SessionState::Start() {
  auto self = shared_from_this();
  core_->RunSync([self] {
    self->keepalive_timer_ = std::make_unique<boost::asio::steady_timer>(self->core_->io());
    self->lost_timer_ = std::make_unique<boost::asio::steady_timer>(self->core_->io());
    Listener l;
    std::weak_ptr<SessionState> weak = self;
    l.on_push = [weak](const coord::v1::ServerMessage& m, uint64_t) {
      auto s = weak.lock();
      if (!s || !m.has_session() || m.session().session_id() != s->id_) return;
      if (m.session().expired()) s->MarkLost(true);
    };
    self->listener_ = self->core_->AddListener(std::move(l));
    Clock::time_point first;
    {
      std::lock_guard lock(self->mu_);
      first = self->lost_deadline_ - self->ttl_ + self->margin_ + self->ttl_ / 3;
    }
    self->ScheduleKeepalive(first);
    self->ArmLostTimer();
  });
}

void SessionState::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    lost_ = true;
    hooks_.clear();
  }
  cv_.notify_all();
  auto self = shared_from_this();
  core_->RunSync([self] {
    self->stopped_io_ = true;
    if (self->keepalive_timer_) self->keepalive_timer_->cancel();
    if (self->lost_timer_) self->lost_timer_->cancel();
    if (self->listener_ != 0) self->core_->RemoveListener(self->listener_);
    self->listener_ = 0;
  });
}

void SessionState::ScheduleKeepalive(Clock::time_point at) {
  if (stopped_io_ || !keepalive_timer_) return;
  keepalive_timer_->expires_at(at);
  std::weak_ptr<SessionState> weak = shared_from_this();
  keepalive_timer_->async_wait([weak](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s) return;
    s->SendKeepalive();
  });
}

void SessionState::SendKeepalive() {
  if (stopped_io_ || lost()) return;
  const Clock::time_point start = Clock::now();
  Clock::time_point deadline;
  {
    std::lock_guard lock(mu_);
    deadline = lost_deadline_;
  }
  Request r;
  r.mutable_session_keepalive()->set_session_id(id_);
  std::weak_ptr<SessionState> weak = shared_from_this();
  core_->Submit(std::move(r), deadline, [weak, start](Result<Response> resp, uint64_t) {
    auto s = weak.lock();
    if (!s || s->stopped_io_) return;
    if (resp.ok()) {
      {
        std::lock_guard lock(s->mu_);
        if (s->lost_) return;  // lost is sticky
        // The ensemble applied this keepalive after `start`, so it cannot expire
        // the session before start + ttl: the deadline moves to that, less margin.
        s->lost_deadline_ =
            std::max(s->lost_deadline_, Session::LostDeadline(start, s->ttl_, s->margin_));
      }
      s->ArmLostTimer();
      s->ScheduleKeepalive(start + s->ttl_ / 3);
      return;
    }
    const StatusCode code = resp.status().code();
    if (code == StatusCode::kSessionExpired || code == StatusCode::kNotFound) {
      s->MarkLost(true);
      return;
    }
    // Transient: try again soon, until the lost deadline decides.
    s->ScheduleKeepalive(Clock::now() + std::max(Duration(20), s->ttl_ / 10));
  });
}

void SessionState::ArmLostTimer() {
  if (stopped_io_ || !lost_timer_) return;
  Clock::time_point deadline;
  {
    std::lock_guard lock(mu_);
    deadline = lost_deadline_;
  }
  lost_timer_->expires_at(deadline);
  std::weak_ptr<SessionState> weak = shared_from_this();
  lost_timer_->async_wait([weak](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s) return;
    bool due;
    {
      std::lock_guard lock(s->mu_);
      due = Clock::now() >= s->lost_deadline_;
    }
    if (due) {
      s->MarkLost(false);
    } else {
      s->ArmLostTimer();
    }
  });
}

void SessionState::MarkLost(bool expired) {
  std::map<uint64_t, std::function<void()>> hooks;
  bool fire_lost = false;
  bool fire_expired = false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (!lost_) {
      lost_ = true;
      fire_lost = true;
      hooks.swap(hooks_);
    }
    if (expired && !expired_) {
      expired_ = true;
      fire_expired = true;
    }
  }
  cv_.notify_all();
  if (fire_lost) {
    if (keepalive_timer_) keepalive_timer_->cancel();
    for (auto& [id, hook] : hooks) hook();
  }
  auto self = shared_from_this();
  if (fire_lost) {
    core_->executor()->Post([self] {
      std::function<void()> cb;
      {
        std::lock_guard lock(self->mu_);
        if (self->stopped_) return;
        cb = self->on_lost_;
      }
      if (cb) cb();
    });
  }
  if (fire_expired) {
    core_->executor()->Post([self] {
      std::function<void()> cb;
      {
        std::lock_guard lock(self->mu_);
        if (self->stopped_) return;
        cb = self->on_expired_;
      }
      if (cb) cb();
    });
  }
}

bool SessionState::lost() const {
  std::lock_guard lock(mu_);
  return lost_ || Clock::now() >= lost_deadline_;
}

bool SessionState::expired() const {
  std::lock_guard lock(mu_);
  return expired_;
}

Clock::time_point SessionState::lost_deadline() const {
  std::lock_guard lock(mu_);
  return lost_deadline_;
}

bool SessionState::WaitLost(Duration timeout) const {
  std::unique_lock lock(mu_);
  const auto until = Clock::now() + timeout;
  while (!lost_) {
    const auto wake = std::min(until, lost_deadline_);
    if (Clock::now() >= lost_deadline_) return true;
    if (cv_.wait_until(lock, wake) == std::cv_status::timeout && Clock::now() >= until) {
      return lost_ || Clock::now() >= lost_deadline_;
    }
  }
  return true;
}

uint64_t SessionState::AddLostHook(std::function<void()> hook) {
  {
    std::lock_guard lock(mu_);
    if (!lost_) {
      const uint64_t id = next_hook_++;
      hooks_.emplace(id, std::move(hook));
      return id;
    }
  }
  hook();
  return 0;
}

void SessionState::RemoveLostHook(uint64_t id) {
  std::lock_guard lock(mu_);
  hooks_.erase(id);
}

}  // namespace client_internal

Session::Duration Session::DefaultSafetyMargin(Duration ttl) {
  return std::max(ttl / 10, Duration(100));
}

Result<std::unique_ptr<Session>> Session::Create(Client& client, Options options,
                                                 Duration timeout) {
  if (options.ttl.count() <= 0) return Status::InvalidArgument("session ttl must be positive");
  coord::v1::Request r;
  r.mutable_session_create()->set_ttl_ms(options.ttl.count());
  const auto start = Clock::now();
  auto resp = client.core_->CallSync(std::move(r), client.core_->DeadlineFor(timeout));
  if (!resp.ok()) return resp.status();
  const int64_t id = resp->session_create().session_id();
  const Duration ttl(resp->session_create().ttl_ms() > 0 ? resp->session_create().ttl_ms()
                                                         : options.ttl.count());
  Duration margin =
      options.safety_margin.count() > 0 ? options.safety_margin : DefaultSafetyMargin(ttl);
  if (margin * 2 >= ttl) {
    // The server's TTL (after clamping) leaves no room for this margin: give the
    // session back rather than keep one we cannot keep safely.
    coord::v1::Request close;
    close.mutable_session_close()->set_session_id(id);
    client.core_->CallSync(std::move(close), client.core_->DeadlineFor(Duration(0)))
        .status()
        .IgnoreError();
    return Status::InvalidArgument("safety margin must be below ttl/2 (ttl " +
                                   std::to_string(ttl.count()) + " ms)");
  }
  auto state = std::make_shared<client_internal::SessionState>(client.core_, id, ttl, margin, start,
                                                               std::move(options.on_lost),
                                                               std::move(options.on_expired));
  state->Start();
  return std::unique_ptr<Session>(new Session(client, id, ttl, margin, std::move(state)));
}

Session::Session(Client& client, int64_t id, Duration ttl, Duration margin,
                 std::shared_ptr<client_internal::SessionState> state)
    : client_(client), id_(id), ttl_(ttl), margin_(margin), state_(std::move(state)) {}

Session::~Session() {
  if (closed_.exchange(true)) return;
  const bool was_expired = state_->expired();
  state_->Stop();
  if (was_expired) return;
  coord::v1::Request r;
  r.mutable_session_close()->set_session_id(id_);
  const Duration bound = std::min(client_.options().default_timeout, Duration(2000));
  client_.core_->CallSync(std::move(r), client_.core_->DeadlineFor(bound)).status().IgnoreError();
}

Status Session::Close(Duration timeout) {
  if (closed_.exchange(true)) return Status::Ok();
  const bool was_expired = state_->expired();
  state_->Stop();
  if (was_expired) return Status::Ok();
  coord::v1::Request r;
  r.mutable_session_close()->set_session_id(id_);
  auto resp = client_.core_->CallSync(std::move(r), client_.core_->DeadlineFor(timeout));
  if (!resp.ok()) {
    const StatusCode code = resp.status().code();
    if (code == StatusCode::kSessionExpired || code == StatusCode::kNotFound) return Status::Ok();
    return resp.status();
  }
  return Status::Ok();
}

bool Session::lost() const { return state_->lost(); }
bool Session::expired() const { return state_->expired(); }
Session::Clock::time_point Session::lost_deadline() const { return state_->lost_deadline(); }
bool Session::WaitLost(Duration timeout) const { return state_->WaitLost(timeout); }

}  // namespace coord
