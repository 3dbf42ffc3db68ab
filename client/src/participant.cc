#include "coord/client/participant.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "core.h"

namespace coord {
namespace client_internal {

using coord::v1::Request;
using coord::v1::Response;

namespace {
// Pause before re-sending a vote / ack / subscription that failed transiently.
constexpr std::chrono::milliseconds kRetryPause(100);
// Transactions whose commit / abort already ran, remembered per Participant.
constexpr size_t kMaxFinishedRemembered = 100'000;
}  // namespace

// A participant across connections. The I/O thread turns the subscription reply
// (the recovery list) and pushed TpcEvents into Work items; the executor runs the
// user's callbacks for them in arrival order and then sends the vote or ack.
//
// Local memory (votes_, finished_) makes a repeated event (the reply and a push may
// both name one transaction) re-send the recorded vote / ack instead of running
// the callback again; the server's own record (vote, acked) seeds it on recovery.
class ParticipantState : public std::enable_shared_from_this<ParticipantState> {
 public:
  ParticipantState(std::shared_ptr<Core> core, std::string name, Participant::Handlers h)
      : core_(std::move(core)), name_(std::move(name)), handlers_(std::move(h)) {}

  struct Work {
    uint64_t txn_id = 0;
    coord::v1::TpcState state = coord::v1::TPC_STATE_UNKNOWN;
    std::string payload;
    std::string reason;
    coord::v1::TpcVote server_vote = coord::v1::TPC_VOTE_NONE;
    bool acked = false;
  };

  void Start() {
    std::weak_ptr<ParticipantState> weak = shared_from_this();
    Listener l;
    l.on_push = [weak](const coord::v1::ServerMessage& m, uint64_t epoch) {
      auto s = weak.lock();
      if (!s || !m.has_tpc() || m.tpc().participant() != s->name_) return;
      if (epoch != s->subscribed_epoch_) return;  // I/O thread only
      Work w;
      w.txn_id = m.tpc().txn_id();
      w.state = m.tpc().state();
      w.payload = m.tpc().payload();
      w.reason = m.tpc().reason();
      s->Post(std::move(w));
    };
    l.on_connected = [weak](uint64_t epoch) {
      if (auto s = weak.lock()) s->Subscribe(epoch);
    };
    listener_ = core_->AddListener(std::move(l));
  }

  // I/O thread.
  void Subscribe(uint64_t epoch) {
    Request r;
    r.mutable_tpc_list()->set_participant(name_);
    r.mutable_tpc_list()->set_subscribe(true);
    CallOptions o;
    o.bound_epoch = epoch;
    std::weak_ptr<ParticipantState> weak = shared_from_this();
    core_->Submit(
        std::move(r), core_->DeadlineFor(std::chrono::milliseconds(0)),
        [weak, epoch](Result<Response> resp, uint64_t) {
          if (auto s = weak.lock()) s->OnSubscribed(std::move(resp), epoch);
        },
        o);
  }

  void OnSubscribed(Result<Response> resp, uint64_t epoch) {
    if (!resp.ok()) {
      const StatusCode code = resp.status().code();
      const bool transient = code == StatusCode::kUnavailable || code == StatusCode::kTimeout;
      {
        std::lock_guard lock(mu_);
        if (!transient && !first_.has_value()) first_ = resp.status();
        cv_.notify_all();
      }
      if (transient && core_->current_epoch() == epoch) {
        auto timer = std::make_shared<boost::asio::steady_timer>(core_->io());
        timer->expires_after(kRetryPause);
        std::weak_ptr<ParticipantState> weak = shared_from_this();
        timer->async_wait([weak, timer, epoch](boost::system::error_code ec) {
          auto s = weak.lock();
          if (!ec && s && s->core_->current_epoch() == epoch) s->Subscribe(epoch);
        });
      }
      return;
    }
    subscribed_epoch_ = epoch;
    for (const coord::v1::TpcTxnInfo& info : resp->tpc_list().txns()) {
      Work w;
      w.txn_id = info.txn_id();
      w.state = info.state();
      w.payload = info.payload();
      w.reason = info.reason();
      for (const auto& p : info.participants()) {
        if (p.name() != name_) continue;
        w.server_vote = p.vote();
        w.acked = p.acked();
      }
      Post(std::move(w));
    }
    std::lock_guard lock(mu_);
    ++subscriptions_;
    if (!first_.has_value()) first_ = Status::Ok();
    cv_.notify_all();
  }

  void Post(Work w) {
    auto self = shared_from_this();
    core_->executor()->Post([self, w = std::move(w)] { self->Handle(w); });
  }

  // Executor thread.
  void Handle(const Work& w) {
    std::lock_guard cb_lock(cb_mu_);
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
    }
    if (w.state == coord::v1::TPC_PREPARING) {
      auto known = votes_.find(w.txn_id);
      if (known == votes_.end() && w.server_vote != coord::v1::TPC_VOTE_NONE) {
        known = votes_.emplace(w.txn_id, w.server_vote).first;  // voted before a restart
        return;                                                 // the decision will come
      }
      if (known == votes_.end()) {
        const bool yes = handlers_.prepare(w.txn_id, w.payload);
        known =
            votes_.emplace(w.txn_id, yes ? coord::v1::TPC_VOTE_YES : coord::v1::TPC_VOTE_NO).first;
      }
      SendVote(w.txn_id, known->second);
      return;
    }
    if (w.state != coord::v1::TPC_COMMITTED && w.state != coord::v1::TPC_ABORTED) return;
    if (w.acked) return;  // nothing owed
    if (finished_.insert(w.txn_id).second) {
      // Bounded memory: forget the oldest ids (a very late repeat of one of them
      // would run its callback again, which the contract allows).
      while (finished_.size() > kMaxFinishedRemembered) finished_.erase(finished_.begin());
      if (w.state == coord::v1::TPC_COMMITTED) {
        handlers_.commit(w.txn_id);
      } else {
        handlers_.abort(w.txn_id, w.reason);
      }
    }
    votes_.erase(w.txn_id);
    SendAck(w.txn_id);
  }

  void SendVote(uint64_t txn_id, coord::v1::TpcVote vote) {
    Request r;
    r.mutable_tpc_vote()->set_txn_id(txn_id);
    r.mutable_tpc_vote()->set_participant(name_);
    r.mutable_tpc_vote()->set_vote(vote);
    SendWithRetry(std::move(r));
  }

  void SendAck(uint64_t txn_id) {
    Request r;
    r.mutable_tpc_ack()->set_txn_id(txn_id);
    r.mutable_tpc_ack()->set_participant(name_);
    SendWithRetry(std::move(r));
  }

  // Transient failures are retried while the participant runs; CONFLICT (decided
  // meanwhile), NOT_FOUND (forgotten) and the like end it: the decision event or
  // the next recovery list settles what remains.
  void SendWithRetry(Request r) {
    std::weak_ptr<ParticipantState> weak = shared_from_this();
    Request copy = r;
    core_->Submit(std::move(r), core_->DeadlineFor(std::chrono::milliseconds(0)),
                  [weak, copy](Result<Response> resp, uint64_t) {
                    auto s = weak.lock();
                    if (!s || resp.ok()) return;
                    const StatusCode code = resp.status().code();
                    if (code != StatusCode::kUnavailable && code != StatusCode::kTimeout) return;
                    {
                      std::lock_guard lock(s->mu_);
                      if (s->stopped_) return;
                    }
                    auto timer = std::make_shared<boost::asio::steady_timer>(s->core_->io());
                    timer->expires_after(kRetryPause);
                    timer->async_wait([weak, timer, copy](boost::system::error_code ec) {
                      if (auto s = weak.lock(); s && !ec) s->SendWithRetry(copy);
                    });
                  });
  }

  Status WaitFirst(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return first_.has_value(); })) {
      return Status::Timeout("participant subscription not established before the deadline");
    }
    return *first_;
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    core_->RemoveListener(listener_);
    if (!core_->executor()->InExecutorThread()) {
      std::lock_guard cb_lock(cb_mu_);  // waits for a callback in progress
    }
  }

  uint64_t subscriptions() const {
    std::lock_guard lock(mu_);
    return subscriptions_;
  }

 private:
  const std::shared_ptr<Core> core_;
  const std::string name_;
  const Participant::Handlers handlers_;
  uint64_t listener_ = 0;
  uint64_t subscribed_epoch_ = 0;  // I/O thread only

  std::mutex cb_mu_;  // held while a callback runs; guards votes_ and finished_
  std::map<uint64_t, coord::v1::TpcVote> votes_;
  std::set<uint64_t> finished_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  uint64_t subscriptions_ = 0;
  std::optional<Status> first_;
};

}  // namespace client_internal

Result<std::unique_ptr<Participant>> Participant::Start(Client& client, std::string name,
                                                        Handlers handlers,
                                                        std::chrono::milliseconds timeout) {
  if (name.empty()) return Status::InvalidArgument("participant name must not be empty");
  if (!handlers.prepare || !handlers.commit || !handlers.abort) {
    return Status::InvalidArgument("participant needs prepare, commit and abort handlers");
  }
  auto state =
      std::make_shared<client_internal::ParticipantState>(client.core_, name, std::move(handlers));
  state->Start();
  Status s = state->WaitFirst(client.core_->DeadlineFor(timeout));
  if (!s.ok()) {
    state->Stop();
    return s;
  }
  return std::unique_ptr<Participant>(new Participant(std::move(name), std::move(state)));
}

Participant::Participant(std::string name, std::shared_ptr<client_internal::ParticipantState> state)
    : name_(std::move(name)), state_(std::move(state)) {}

Participant::~Participant() { Stop(); }
void Participant::Stop() { state_->Stop(); }
uint64_t Participant::subscriptions() const { return state_->subscriptions(); }

}  // namespace coord
