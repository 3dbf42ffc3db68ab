#include "coord/client/watch.h"

#include <algorithm>

#include "core.h"

namespace coord {
namespace client_internal {

using coord::v1::Request;
using coord::v1::Response;

// A watch across connections. Invariant: last_revision_ is the highest revision
// whose events (for this watch) were all handed to the executor; every
// (re-)creation asks for last_revision_ + 1, and events at or below it are
// dropped, so the user sees each revision once and in order.
class WatchState : public std::enable_shared_from_this<WatchState> {
 public:
  WatchState(std::shared_ptr<Core> core, Watch::Options options, Watch::EventCallback on_events,
             Watch::EndCallback on_end)
      : core_(std::move(core)),
        options_(std::move(options)),
        on_events_(std::move(on_events)),
        on_end_(std::move(on_end)) {
    if (options_.start_revision > 0) last_revision_ = options_.start_revision - 1;
  }

  void Start() {
    std::weak_ptr<WatchState> weak = shared_from_this();
    Listener l;
    l.on_push = [weak](const coord::v1::ServerMessage& m, uint64_t epoch) {
      auto s = weak.lock();
      if (s && m.has_watch()) s->OnWatchEvent(m.watch(), epoch);
    };
    l.on_connected = [weak](uint64_t epoch) {
      if (auto s = weak.lock()) s->Register(epoch);
    };
    listener_ = core_->AddListener(std::move(l));
  }

  // I/O thread: (re-)create the watch on connection `epoch`.
  void Register(uint64_t epoch) {
    Request r;
    auto* w = r.mutable_watch_create();
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      watch_id_ = 0;
      watch_epoch_ = epoch;
      w->set_key(options_.key);
      w->set_range_end(options_.range_end);
      w->set_prefix(options_.prefix);
      w->set_prev_kv(options_.prev_kv);
      w->set_progress_notify(options_.progress_notify);
      // First creation with start 0: "from now"; later: resume after what we have.
      const bool from_now = registrations_ == 0 && options_.start_revision == 0;
      w->set_start_revision(from_now ? 0 : last_revision_ + 1);
    }
    CallOptions o;
    o.bound_epoch = epoch;
    std::weak_ptr<WatchState> weak = shared_from_this();
    core_->Submit(
        std::move(r), core_->DeadlineFor(std::chrono::milliseconds(0)),
        [weak, epoch](Result<Response> resp, uint64_t) {
          if (auto s = weak.lock()) s->OnCreated(std::move(resp), epoch);
        },
        o);
  }

  void OnCreated(Result<Response> resp, uint64_t epoch) {
    bool end = false;
    Status end_status;
    bool retry = false;
    {
      std::lock_guard lock(mu_);
      if (ended_ || epoch != watch_epoch_) return;
      if (resp.ok()) {
        if (registrations_ == 0 && options_.start_revision == 0) {
          // Events follow from the member's revision at creation + 1.
          last_revision_ = std::max(last_revision_, resp->header().revision());
        }
        watch_id_ = resp->watch_create().watch_id();
        ++registrations_;
        if (!first_.has_value()) first_ = Status::Ok();
      } else {
        const StatusCode code = resp.status().code();
        const bool transient = code == StatusCode::kUnavailable || code == StatusCode::kTimeout;
        if (!first_.has_value() && !transient) {
          first_ = resp.status();
          ended_ = true;
        } else if (transient) {
          retry = true;  // connection lost (re-registered on the next) or overloaded
        } else {
          ended_ = true;
          end = true;
          end_status = resp.status();
        }
      }
      cv_.notify_all();
    }
    if (retry && core_->current_epoch() == epoch) {
      // The member refused for now (e.g. too many watches): try again shortly.
      auto timer = std::make_shared<boost::asio::steady_timer>(core_->io());
      timer->expires_after(std::chrono::milliseconds(100));
      std::weak_ptr<WatchState> weak = shared_from_this();
      timer->async_wait([weak, timer, epoch](boost::system::error_code ec) {
        auto s = weak.lock();
        if (!ec && s && s->core_->current_epoch() == epoch) s->Register(epoch);
      });
    }
    if (end) PostEnd(end_status);
  }

  void OnWatchEvent(const coord::v1::WatchEvent& event, uint64_t epoch) {
    std::vector<coord::v1::WatchEvent> deliver;
    bool end = false;
    Status end_status;
    bool recreate = false;
    {
      std::lock_guard lock(mu_);
      if (ended_ || epoch != watch_epoch_ || watch_id_ == 0 || event.watch_id() != watch_id_) {
        return;
      }
      if (event.events_size() > 0) {
        if (event.revision() > last_revision_) {
          last_revision_ = event.revision();
          deliver.push_back(event);
        }
      } else if (!event.canceled()) {
        // Progress: everything up to event.revision() was delivered.
        if (event.revision() > last_revision_) last_revision_ = event.revision();
        if (options_.progress_notify) deliver.push_back(event);
      }
      if (event.canceled()) {
        watch_id_ = 0;
        const Status why = StatusFromError(event.cancel_reason());
        if (why.code() == StatusCode::kCompacted || why.code() == StatusCode::kTooLarge) {
          ended_ = true;
          end = true;
          end_status = why;
        } else {
          recreate = true;  // slow consumer or snapshot install: resume
        }
      }
    }
    for (auto& e : deliver) PostEvents(std::move(e));
    if (end) PostEnd(end_status);
    if (recreate) Register(epoch);
  }

  void PostEvents(coord::v1::WatchEvent event) {
    auto self = shared_from_this();
    core_->executor()->Post([self, event = std::move(event)] {
      std::lock_guard cb_lock(self->cb_mu_);
      {
        std::lock_guard lock(self->mu_);
        if (self->cancelled_) return;
      }
      if (self->on_events_) self->on_events_(event);
    });
  }

  void PostEnd(Status status) {
    auto self = shared_from_this();
    core_->executor()->Post([self, status] {
      std::lock_guard cb_lock(self->cb_mu_);
      {
        std::lock_guard lock(self->mu_);
        if (self->cancelled_) return;
      }
      if (self->on_end_) self->on_end_(status);
    });
  }

  Status WaitFirst(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return first_.has_value(); })) {
      return Status::Timeout("watch not established before the deadline");
    }
    return *first_;
  }

  void Cancel() {
    int64_t id = 0;
    uint64_t epoch = 0;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      ended_ = true;
      id = watch_id_;
      epoch = watch_epoch_;
    }
    core_->RemoveListener(listener_);
    if (id != 0) {
      // Best effort, asynchronous: the server stops sending; if the connection is
      // gone the watch went with it.
      Request r;
      r.mutable_watch_cancel()->set_watch_id(id);
      CallOptions o;
      o.bound_epoch = epoch;
      core_->Submit(
          std::move(r), core_->DeadlineFor(std::chrono::milliseconds(0)),
          [](Result<Response>, uint64_t) {}, o);
    }
    if (!core_->executor()->InExecutorThread()) {
      std::lock_guard cb_lock(cb_mu_);  // waits for a callback in progress
    }
  }

  // See Watch::RequestProgress. A linearizable count of the watched range, sent
  // on the connection the watch is registered on: the member answers it after
  // queueing every event of revisions up to the reply's revision R (events are
  // queued at apply, the read after its read point), and the I/O thread handles
  // that connection's frames in order, so by the reply every such event was
  // posted to the executor before `done`.
  void RequestProgress(std::function<void(Result<int64_t>)> done) {
    Request r;
    uint64_t epoch = 0;
    int64_t id = 0;
    {
      std::lock_guard lock(mu_);
      if (!ended_ && watch_id_ != 0) {
        epoch = watch_epoch_;
        id = watch_id_;
      }
    }
    if (id == 0) {
      core_->executor()->Post(
          [done] { done(Status::Unavailable("the watch is not registered right now")); });
      return;
    }
    auto* range = r.mutable_range();
    range->set_key(options_.key);
    range->set_range_end(options_.range_end);
    range->set_prefix(options_.prefix);
    range->set_count_only(true);
    CallOptions o;
    o.bound_epoch = epoch;
    std::weak_ptr<WatchState> weak = shared_from_this();
    core_->Submit(
        std::move(r), core_->DeadlineFor(std::chrono::milliseconds(0)),
        [weak, core = core_, epoch, id, done](Result<Response> resp, uint64_t) {
          auto s = weak.lock();
          if (!s) {  // the watch is gone; `done` still runs once
            core->executor()->Post(
                [done] { done(Status::Unavailable("the watch was cancelled")); });
            return;
          }
          Result<int64_t> out = Status::Unavailable("the watch moved to another connection");
          {
            std::lock_guard lock(s->mu_);
            if (!resp.ok()) {
              out = resp.status();
            } else if (!s->ended_ && s->watch_epoch_ == epoch && s->watch_id_ == id) {
              const int64_t revision = resp->header().revision();
              s->last_revision_ = std::max(s->last_revision_, revision);
              out = revision;
            }
          }
          s->core_->executor()->Post([done, out] { done(out); });
        },
        o);
  }

  int64_t last_revision() const {
    std::lock_guard lock(mu_);
    return last_revision_;
  }
  uint64_t registrations() const {
    std::lock_guard lock(mu_);
    return registrations_;
  }

 private:
  const std::shared_ptr<Core> core_;
  const Watch::Options options_;
  Watch::EventCallback on_events_;
  Watch::EndCallback on_end_;
  uint64_t listener_ = 0;

  std::mutex cb_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  bool ended_ = false;
  int64_t last_revision_ = 0;
  uint64_t registrations_ = 0;
  int64_t watch_id_ = 0;
  uint64_t watch_epoch_ = 0;
  std::optional<Status> first_;
};

}  // namespace client_internal

Result<std::unique_ptr<Watch>> Watch::Create(Client& client, Options options,
                                             EventCallback on_events, EndCallback on_end,
                                             std::chrono::milliseconds timeout) {
  if (options.key.empty()) return Status::InvalidArgument("watch key must not be empty");
  if (options.start_revision < 0) {
    return Status::InvalidArgument("start_revision must not be negative");
  }
  auto state = std::make_shared<client_internal::WatchState>(
      client.core_, std::move(options), std::move(on_events), std::move(on_end));
  state->Start();
  Status s = state->WaitFirst(client.core_->DeadlineFor(timeout));
  if (!s.ok()) {
    state->Cancel();
    return s;
  }
  return std::unique_ptr<Watch>(new Watch(std::move(state)));
}

Watch::Watch(std::shared_ptr<client_internal::WatchState> state) : state_(std::move(state)) {}
Watch::~Watch() { Cancel(); }
void Watch::Cancel() { state_->Cancel(); }
int64_t Watch::last_revision() const { return state_->last_revision(); }
uint64_t Watch::registrations() const { return state_->registrations(); }
void Watch::RequestProgress(std::function<void(Result<int64_t>)> done) {
  state_->RequestProgress(std::move(done));
}

}  // namespace coord
