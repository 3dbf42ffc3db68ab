#include "coord/client/election.h"

#include <algorithm>
#include <future>
#include <utility>

#include "session_state.h"

namespace coord {
namespace client_internal {

using coord::v1::Request;
using coord::v1::Response;

namespace {

bool SameLeader(const coord::v1::ElectionLeader& a, const coord::v1::ElectionLeader& b) {
  return a.name() == b.name() && a.session() == b.session() && a.term() == b.term() &&
         a.value() == b.value();
}

// Sends election_leader{observe} on connection `epoch`; `on_reply` gets the
// outcome on the I/O thread. The server keeps the subscription until the
// connection closes or the owner sends SendUnobserve on that connection, so each
// owner subscribes once per connection and unsubscribes when it is done.
void SendObserve(Core& core, const std::string& name, uint64_t epoch,
                 std::function<void(Result<Response>)> on_reply) {
  Request r;
  r.mutable_election_leader()->set_name(name);
  r.mutable_election_leader()->set_observe(true);
  CallOptions o;
  o.bound_epoch = epoch;
  core.Submit(
      std::move(r), core.DeadlineFor(std::chrono::milliseconds(0)),
      [on_reply = std::move(on_reply)](Result<Response> resp, uint64_t) {
        if (on_reply) on_reply(std::move(resp));
      },
      o);
}

// Ends one observe of `name` on connection `epoch` (best effort: if that
// connection is gone, so is the server's subscription).
void SendUnobserve(Core& core, const std::string& name, uint64_t epoch) {
  Request r;
  r.mutable_election_leader()->set_name(name);
  r.mutable_election_leader()->set_unobserve(true);
  CallOptions o;
  o.bound_epoch = epoch;
  core.Submit(
      std::move(r), core.DeadlineFor(std::chrono::milliseconds(0)),
      [](Result<Response>, uint64_t) {}, o);
}

}  // namespace

// The candidate's view of one election: it observes the election on every
// connection while campaigning or leading, so a queued candidate learns of its
// promotion from the pushed ElectionLeader events (the first event of each new
// subscription is the current leader, so nothing is missed across reconnects).
class ElectionState : public std::enable_shared_from_this<ElectionState> {
 public:
  ElectionState(std::shared_ptr<Core> core, std::shared_ptr<SessionState> session, std::string name)
      : core_(std::move(core)), session_(std::move(session)), name_(std::move(name)) {}

  void Start() {
    std::weak_ptr<ElectionState> weak = shared_from_this();
    Listener l;
    l.on_push = [weak](const coord::v1::ServerMessage& m, uint64_t) {
      auto s = weak.lock();
      if (!s || !m.has_election() || m.election().name() != s->name_) return;
      s->OnLeader(m.election());
    };
    l.on_connected = [weak](uint64_t epoch) {
      auto s = weak.lock();
      if (s) s->MaybeObserve(epoch);
    };
    listener_ = core_->AddListener(std::move(l));
    hook_ = session_->AddLostHook([weak] {
      auto s = weak.lock();
      if (!s) return;
      std::function<void(Result<int64_t>)> done;
      {
        std::lock_guard lock(s->mu_);
        s->leader_ = false;
        done = std::move(s->async_done_);
        s->async_done_ = nullptr;
        s->cv_.notify_all();
      }
      if (done) s->PostDone(std::move(done), Status(StatusCode::kSessionExpired, "session lost"));
    });
  }

  void Stop() {
    uint64_t observed = 0;
    {
      std::lock_guard lock(mu_);
      async_done_ = nullptr;
      observed = std::exchange(observed_epoch_, 0);
    }
    core_->RemoveListener(listener_);
    session_->RemoveLostHook(hook_);
    if (observed != 0) SendUnobserve(*core_, name_, observed);
  }

  // I/O thread: subscribe on `epoch` if wanted and not done yet.
  void MaybeObserve(uint64_t epoch) {
    {
      std::lock_guard lock(mu_);
      if (!want_observe_ || observed_epoch_ == epoch) return;
      observed_epoch_ = epoch;
    }
    SendObserve(*core_, name_, epoch, nullptr);
  }

  void StartObserving() {
    {
      std::lock_guard lock(mu_);
      want_observe_ = true;
    }
    auto self = shared_from_this();
    core_->RunSync([self] {
      const uint64_t epoch = self->core_->current_epoch();
      if (epoch != 0) self->MaybeObserve(epoch);
    });
  }

  void OnLeader(const coord::v1::ElectionLeader& e) {
    std::function<void(Result<int64_t>)> done;
    int64_t term = 0;
    {
      std::lock_guard lock(mu_);
      // Election terms only grow, so an event older than the term this candidate
      // already knows is stale: e.g. an observe's first event, read on a member that
      // had not applied our campaign yet, arriving after the campaign's reply.
      if (e.term() < term_) return;
      if (e.session() == session_->id() && e.session() != 0) {
        if (!leader_ || term_ != e.term()) {
          leader_ = true;
          term_ = e.term();
        }
        term = term_;
        done = std::move(async_done_);
        async_done_ = nullptr;
      } else {
        leader_ = false;
      }
      cv_.notify_all();
    }
    if (done) PostDone(std::move(done), term);
  }

  void SetLeader(int64_t term) {
    std::lock_guard lock(mu_);
    leader_ = true;
    term_ = term;
    cv_.notify_all();
  }

  void PostDone(std::function<void(Result<int64_t>)> done, Result<int64_t> r) {
    core_->executor()->Post(
        [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  Request CampaignRequest(const std::string& value) const {
    Request r;
    auto* c = r.mutable_election_campaign();
    c->set_name(name_);
    c->set_session(session_->id());
    c->set_value(value);
    return r;
  }

  Result<int64_t> Campaign(const std::string& value, Election::Duration timeout);
  void CampaignAsync(const std::string& value, std::function<void(Result<int64_t>)> done);
  void SubmitAsync(const std::string& value);

  bool is_leader() const {
    std::lock_guard lock(mu_);
    return leader_ && !session_->lost();
  }
  int64_t term() const {
    std::lock_guard lock(mu_);
    return term_;
  }
  void Resigned() {
    uint64_t observed = 0;
    {
      std::lock_guard lock(mu_);
      leader_ = false;
      want_observe_ = false;
      observed = std::exchange(observed_epoch_, 0);
    }
    if (observed != 0) SendUnobserve(*core_, name_, observed);
  }
  Core& core() { return *core_; }
  SessionState& session() { return *session_; }
  const std::string& name() const { return name_; }

 private:
  const std::shared_ptr<Core> core_;
  const std::shared_ptr<SessionState> session_;
  const std::string name_;
  uint64_t listener_ = 0;
  uint64_t hook_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool want_observe_ = false;
  uint64_t observed_epoch_ = 0;
  bool leader_ = false;
  int64_t term_ = 0;
  std::function<void(Result<int64_t>)> async_done_;
};

Result<int64_t> ElectionState::Campaign(const std::string& value, Election::Duration timeout) {
  const Clock::time_point deadline = client_internal::DeadlineAfter(timeout);
  StartObserving();
  while (true) {
    if (session_->lost()) {
      return Status(StatusCode::kSessionExpired,
                    "session " + std::to_string(session_->id()) + " is lost; cannot campaign");
    }
    if (Clock::now() >= deadline) {
      return Status::Timeout("not leader of \"" + name_ + "\" before the deadline");
    }
    auto resp = core_->CallSync(CampaignRequest(value),
                                std::min(deadline, core_->DeadlineFor(Election::Duration(0))));
    if (!resp.ok()) {
      const StatusCode code = resp.status().code();
      if ((code == StatusCode::kTimeout || code == StatusCode::kUnavailable) &&
          Clock::now() < deadline) {
        continue;
      }
      return resp.status();
    }
    if (resp->election_campaign().leader()) {
      SetLeader(resp->election_campaign().term());
      return resp->election_campaign().term();
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return leader_ || session_->lost(); });
    if (leader_ && !session_->lost()) return term_;
  }
}

void ElectionState::CampaignAsync(const std::string& value,
                                  std::function<void(Result<int64_t>)> done) {
  if (session_->lost()) {
    PostDone(std::move(done), Status(StatusCode::kSessionExpired, "session lost"));
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (leader_) {
      const int64_t term = term_;
      PostDone(std::move(done), term);
      return;
    }
    async_done_ = std::move(done);
  }
  StartObserving();
  SubmitAsync(value);
}

void ElectionState::SubmitAsync(const std::string& value) {
  std::weak_ptr<ElectionState> weak = shared_from_this();
  core_->Submit(CampaignRequest(value), core_->DeadlineFor(Election::Duration(0)),
                [weak, value](Result<Response> resp, uint64_t) {
                  auto s = weak.lock();
                  if (!s) return;
                  if (resp.ok()) {
                    if (resp->election_campaign().leader()) {
                      coord::v1::ElectionLeader e;
                      e.set_name(s->name_);
                      e.set_session(s->session_->id());
                      e.set_term(resp->election_campaign().term());
                      s->OnLeader(e);
                    }
                    return;  // queued: the observed events complete it
                  }
                  const StatusCode code = resp.status().code();
                  if ((code == StatusCode::kTimeout || code == StatusCode::kUnavailable) &&
                      !s->session_->lost()) {
                    s->SubmitAsync(value);  // keep trying while the session lives
                    return;
                  }
                  std::function<void(Result<int64_t>)> done;
                  {
                    std::lock_guard lock(s->mu_);
                    done = std::move(s->async_done_);
                    s->async_done_ = nullptr;
                  }
                  if (done) s->PostDone(std::move(done), resp.status());
                });
}

// An ElectionObserver's state: subscribes on every connection, delivers changes
// on the executor with consecutive duplicates dropped.
class ObserverState : public std::enable_shared_from_this<ObserverState> {
 public:
  ObserverState(std::shared_ptr<Core> core, std::string name, ElectionObserver::Callback cb)
      : core_(std::move(core)), name_(std::move(name)), cb_(std::move(cb)) {}

  void Start() {
    std::weak_ptr<ObserverState> weak = shared_from_this();
    Listener l;
    l.on_push = [weak](const coord::v1::ServerMessage& m, uint64_t epoch) {
      auto s = weak.lock();
      if (!s || !m.has_election() || m.election().name() != s->name_) return;
      s->OnEvent(m.election(), epoch);
    };
    l.on_connected = [weak](uint64_t epoch) {
      auto s = weak.lock();
      if (!s) return;
      SendObserve(*s->core_, s->name_, epoch, [weak, epoch](Result<Response> r) {
        auto s = weak.lock();
        if (!s) return;
        std::lock_guard lock(s->mu_);
        if (r.ok() || r.status().code() == StatusCode::kNotFound) {
          s->subscribed_epoch_ = epoch;
          s->first_reply_ = Status::Ok();
        } else if (!s->first_reply_.has_value() &&
                   r.status().code() == StatusCode::kInvalidArgument) {
          s->first_reply_ = r.status();
        }
        s->cv_.notify_all();
      });
    };
    listener_ = core_->AddListener(std::move(l));
  }

  Status WaitFirst(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return first_reply_.has_value(); })) {
      return Status::Timeout("election observe not established before the deadline");
    }
    return *first_reply_;
  }

  void OnEvent(const coord::v1::ElectionLeader& e, uint64_t epoch) {
    {
      std::lock_guard lock(mu_);
      if (cancelled_ || epoch != subscribed_epoch_) return;
      if (has_last_ && SameLeader(last_, e)) return;
      last_ = e;
      has_last_ = true;
    }
    auto self = shared_from_this();
    core_->executor()->Post([self, e] {
      std::lock_guard cb_lock(self->cb_mu_);
      {
        std::lock_guard lock(self->mu_);
        if (self->cancelled_) return;
      }
      if (self->cb_) self->cb_(e);
    });
  }

  void Cancel() {
    uint64_t subscribed = 0;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      subscribed = subscribed_epoch_;
    }
    core_->RemoveListener(listener_);
    if (subscribed != 0) SendUnobserve(*core_, name_, subscribed);
    if (!core_->executor()->InExecutorThread()) {
      std::lock_guard cb_lock(cb_mu_);  // waits for a callback in progress
    }
  }

 private:
  const std::shared_ptr<Core> core_;
  const std::string name_;
  ElectionObserver::Callback cb_;
  uint64_t listener_ = 0;
  std::mutex cb_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  uint64_t subscribed_epoch_ = 0;
  std::optional<Status> first_reply_;
  bool has_last_ = false;
  coord::v1::ElectionLeader last_;
};

}  // namespace client_internal

Election::Election(Session& session, std::string name)
    : session_(session),
      name_(std::move(name)),
      state_(std::make_shared<client_internal::ElectionState>(session.client().core_,
                                                              session.state_, name_)) {
  state_->Start();
}

Election::~Election() { state_->Stop(); }

Result<int64_t> Election::Campaign(const std::string& value, Duration timeout) {
  return state_->Campaign(value, timeout);
}

void Election::CampaignAsync(const std::string& value, std::function<void(Result<int64_t>)> done) {
  state_->CampaignAsync(value, std::move(done));
}

Status Election::Proclaim(const std::string& value, Duration timeout) {
  coord::v1::Request r;
  auto* p = r.mutable_election_proclaim();
  p->set_name(name_);
  p->set_session(session_.id());
  p->set_value(value);
  auto resp = state_->core().CallSync(std::move(r), state_->core().DeadlineFor(timeout));
  return resp.status();
}

Status Election::Resign(Duration timeout) {
  coord::v1::Request r;
  auto* p = r.mutable_election_resign();
  p->set_name(name_);
  p->set_session(session_.id());
  auto resp = state_->core().CallSync(std::move(r), state_->core().DeadlineFor(timeout));
  if (resp.ok()) state_->Resigned();
  return resp.status();
}

bool Election::is_leader() const { return state_->is_leader(); }
int64_t Election::term() const { return state_->term(); }

Result<coord::v1::ElectionLeader> Election::Leader(Client& client, const std::string& name,
                                                   Duration timeout) {
  coord::v1::Request r;
  r.mutable_election_leader()->set_name(name);
  auto resp = client.Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  return resp->election_leader().leader();
}

Result<std::unique_ptr<ElectionObserver>> ElectionObserver::Create(
    Client& client, const std::string& name, Callback on_change,
    std::chrono::milliseconds timeout) {
  if (name.empty()) return Status::InvalidArgument("election name must not be empty");
  auto state =
      std::make_shared<client_internal::ObserverState>(client.core_, name, std::move(on_change));
  state->Start();
  Status s = state->WaitFirst(client.core_->DeadlineFor(timeout));
  if (!s.ok()) {
    state->Cancel();
    return s;
  }
  return std::unique_ptr<ElectionObserver>(new ElectionObserver(std::move(state)));
}

ElectionObserver::ElectionObserver(std::shared_ptr<client_internal::ObserverState> state)
    : state_(std::move(state)) {}

ElectionObserver::~ElectionObserver() { Cancel(); }

void ElectionObserver::Cancel() { state_->Cancel(); }

}  // namespace coord
