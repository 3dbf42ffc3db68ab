#include "core.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <future>
#include <random>

namespace coord::client_internal {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using coord::v1::Request;
using coord::v1::Response;
using coord::v1::ServerMessage;

namespace {

// A member that answers UNAVAILABLE is retried after this pause (it is usually
// electing a leader); a call with less time left than kMinRetryBudget fails.
constexpr std::chrono::milliseconds kUnavailableRetry(50);
constexpr std::chrono::milliseconds kMinRetryBudget(30);
// After this many UNAVAILABLE replies for one call from one connection, the
// member is probably cut off from the quorum: move to the next endpoint.
constexpr int kUnavailableBeforeFailover = 3;

}  // namespace

Core::Core(ClientOptions options, std::vector<std::string> endpoints, Executor* executor,
           std::shared_ptr<boost::asio::ssl::context> tls)
    : options_(std::move(options)),
      endpoints_(std::move(endpoints)),
      executor_(executor),
      tls_(std::move(tls)),
      backoff_(options_.backoff_initial, options_.backoff_max,
               options_.random_seed != 0 ? options_.random_seed : std::random_device{}()),
      reconnect_timer_(io_),
      token_(options_.token) {
  uint64_t base = options_.client_id_base;
  if (base == 0) {
    std::random_device rd;
    std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                        static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
    if (options_.random_seed != 0) rng.seed(options_.random_seed);
    // Keep room below 2^64 so base + lane never wraps to the reserved id 0.
    base = (rng() >> 1) + 1;
  }
  {
    std::random_device rd;
    while (incarnation_ == 0) {
      incarnation_ = (static_cast<uint64_t>(rd()) << 32) | static_cast<uint64_t>(rd());
    }
  }
  lanes_.resize(static_cast<size_t>(options_.write_lanes));
  for (size_t i = 0; i < lanes_.size(); ++i) lanes_[i].client_id = base + i;
  // Different clients start at different members, spreading the load.
  next_endpoint_ = static_cast<int>(base % endpoints_.size());
}

Core::~Core() { Shutdown(); }

void Core::Start() {
  work_.emplace(net::make_work_guard(io_));
  thread_ = std::thread([this] {
    io_thread_id_.store(std::this_thread::get_id());
    io_.run();
  });
  net::post(io_, [this] { Connect(); });
}

void Core::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    // Under mu_: every task posted by Submit / RunSync / AddListener before the
    // flag runs before this one.
    net::post(io_, [this] {
      stopped_ = true;
      std::vector<uint64_t> keys;
      for (const auto& [key, call] : calls_) keys.push_back(key);
      for (uint64_t key : keys) Finish(key, Status::Aborted("client is shutting down"));
      if (conn_) {
        beast::error_code ignored;
        conn_->lowest_layer().socket().close(ignored);
        conn_.reset();
      }
      reconnect_timer_.cancel();
      listeners_.clear();
      io_.stop();
    });
  }
  if (thread_.joinable()) thread_.join();
  work_.reset();
  std::lock_guard lock(mu_);
  connected_endpoint_ = -1;
  connected_cv_.notify_all();
}

bool Core::InIoThread() const { return std::this_thread::get_id() == io_thread_id_.load(); }

void Core::Post(std::function<void()> fn) { net::post(io_, std::move(fn)); }

void Core::RunSync(const std::function<void()>& fn) {
  if (InIoThread()) {
    fn();
    return;
  }
  std::promise<void> done;
  auto future = done.get_future();
  {
    // Posting under mu_ orders this task before Shutdown()'s final task, so it
    // always runs; after shutdown the I/O state is no longer touched: run inline.
    std::lock_guard lock(mu_);
    if (!shut_down_) {
      net::post(io_, [&] {
        fn();
        done.set_value();
      });
    } else {
      done.set_value();
    }
  }
  future.wait();
}

Clock::time_point Core::DeadlineFor(std::chrono::milliseconds timeout) const {
  if (timeout.count() <= 0) timeout = options_.default_timeout;
  const auto now = Clock::now();
  if (timeout >= std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return now + timeout;
}

int Core::connected_endpoint() const {
  std::lock_guard lock(mu_);
  return connected_endpoint_;
}

uint64_t Core::connection_count() const {
  std::lock_guard lock(mu_);
  return connections_;
}

uint64_t Core::current_epoch() const {
  std::lock_guard lock(mu_);
  return connected_endpoint_ >= 0 ? epoch_ : 0;
}

Status Core::WaitConnected(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!connected_cv_.wait_until(lock, deadline,
                                [&] { return connected_endpoint_ >= 0 || shut_down_; }) ||
      connected_endpoint_ < 0) {
    return Status::Unavailable("not connected to any of the endpoints");
  }
  return Status::Ok();
}

// ---- Calls -------------------------------------------------------------------------

void Core::Submit(Request request, Clock::time_point deadline, IoCallback done,
                  CallOptions call_options) {
  if (request.body_case() == Request::BODY_NOT_SET) {
    done(Status::InvalidArgument("request has no body"), 0);
    return;
  }
  auto call = std::make_unique<Call>(io_);
  call->request = std::move(request);
  call->deadline = deadline;
  call->done = std::move(done);
  call->opts = call_options;
  call->write = Client::IsWrite(call->request);
  if (InIoThread()) {
    StartCall(std::move(call));
    return;
  }
  std::unique_lock lock(mu_);
  if (shut_down_) {
    lock.unlock();
    call->done(Status::Aborted("client is shutting down"), 0);
    return;
  }
  auto holder = std::make_shared<std::unique_ptr<Call>>(std::move(call));
  net::post(io_, [this, holder] { StartCall(std::move(*holder)); });
}

Result<Response> Core::CallSync(Request request, Clock::time_point deadline,
                                CallOptions call_options) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto future = promise->get_future();
  Submit(
      std::move(request), deadline,
      [promise](Result<Response> r, uint64_t) { promise->set_value(std::move(r)); }, call_options);
  return future.get();
}

void Core::StartCall(std::unique_ptr<Call> call) {
  if (stopped_) {
    call->done(Status::Aborted("client is shutting down"), 0);
    return;
  }
  const uint64_t key = next_key_++;
  call->key = key;
  Call* c = call.get();
  calls_.emplace(key, std::move(call));
  if (c->deadline != Clock::time_point::max()) {
    c->timer.expires_at(c->deadline);
    c->timer.async_wait([this, key](beast::error_code ec) {
      if (ec) return;
      auto it = calls_.find(key);
      if (it == calls_.end()) return;
      std::string what = it->second->write ? "; the write may or may not have been applied" : "";
      Finish(key, Status::Timeout("deadline exceeded" + what));
    });
  }
  if (c->opts.bound_epoch != 0 && (!connected_ || conn_->epoch != c->opts.bound_epoch)) {
    return Finish(key, Status::Unavailable("connection lost"));
  }
  if (c->write) {
    TryAssignLane(c);
    if (c->lane < 0) {
      lane_waiters_.push_back(key);
      return;
    }
  }
  if (connected_) Send(c);
}

void Core::TryAssignLane(Call* call) {
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (lanes_[i].busy) continue;
    lanes_[i].busy = true;
    call->lane = static_cast<int>(i);
    call->sequence = ++lanes_[i].sequence;
    return;
  }
}

void Core::Send(Call* call) {
  if (!connected_ || call->sent || call->retry_pending) return;
  if (call->write && call->lane < 0) return;
  const uint64_t wire = next_wire_id_++;
  call->wire_id = wire;
  call->request.set_id(wire);
  if (call->write) {
    call->request.set_client_id(lanes_[call->lane].client_id);
    call->request.set_client_incarnation(incarnation_);
    call->request.set_sequence(call->sequence);
  } else {
    call->request.set_client_id(0);
    call->request.set_client_incarnation(0);
    call->request.set_sequence(0);
  }
  // The server's share of the remaining time: at most half of it (but at least a
  // second when there is one), so a member that cannot reach a quorum answers
  // UNAVAILABLE while there is still time to try another.
  int64_t remaining = 60'000;
  if (call->deadline != Clock::time_point::max()) {
    remaining = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(call->deadline - Clock::now())
               .count());
  }
  int64_t server = remaining <= 1000 ? remaining : std::max<int64_t>(1000, remaining / 2);
  server = std::min<int64_t>(server, 3'600'000);
  call->request.set_timeout_ms(static_cast<uint32_t>(server));
  std::string frame;
  call->request.SerializeToString(&frame);
  in_flight_[wire] = call->key;
  call->sent = true;
  call->sent_epoch = conn_->epoch;
  if (call->write && test_lose_body_ != Request::BODY_NOT_SET &&
      call->request.body_case() == test_lose_body_) {
    test_lose_body_ = Request::BODY_NOT_SET;
    if (!test_lose_reply_) return;  // "lost" on the way: stays in flight until its deadline
    test_lost_reply_wire_ = wire;
  }
  bool break_after = false;
  if (call->write && test_break_after_next_write_) {
    test_break_after_next_write_ = false;
    break_after = true;
  }
  Enqueue(conn_, std::move(frame), break_after);
}

void Core::SendUnsent() {
  std::vector<uint64_t> keys;
  for (const auto& [key, call] : calls_) keys.push_back(key);
  for (uint64_t key : keys) {
    if (!connected_) return;
    auto it = calls_.find(key);
    if (it == calls_.end()) continue;
    Call* c = it->second.get();
    if (c->opts.bound_epoch != 0 && c->opts.bound_epoch != conn_->epoch) {
      Finish(key, Status::Unavailable("connection lost"));
      continue;
    }
    Send(c);
  }
}

void Core::OnResponse(Response response) {
  auto it = in_flight_.find(response.id());
  if (it == in_flight_.end()) return;  // its call ended (deadline) meanwhile
  const uint64_t key = it->second;
  in_flight_.erase(it);
  auto found = calls_.find(key);
  if (found == calls_.end()) return;
  Call* c = found->second.get();
  c->sent = false;
  // UNAVAILABLE: certainly not applied (no leader yet). TIMEOUT on a write: it
  // may have been applied (the leader changed after appending it); its retry
  // keeps the lane's sequence, so the exactly-once table settles which.
  const auto code = response.error().code();
  const bool retry = code == coord::v1::UNAVAILABLE || (code == coord::v1::TIMEOUT && c->write);
  if (retry && c->opts.bound_epoch == 0 &&
      c->deadline - Clock::now() > kMinRetryBudget + kUnavailableRetry) {
    if (++c->unavailable_count % kUnavailableBeforeFailover == 0 && conn_) {
      RetryLater(key, std::chrono::milliseconds(0));
      Disconnect(conn_, "member keeps answering UNAVAILABLE");
      return;
    }
    RetryLater(key, kUnavailableRetry);
    return;
  }
  if (code == coord::v1::UNAUTHENTICATED && options_.auth_enabled() && !c->auth_retried &&
      c->opts.bound_epoch == 0 && conn_ && !c->request.has_authenticate()) {
    // The login ended (token expiry, a password change): certainly not applied,
    // so log in again on a new connection and send it once more.
    c->auth_retried = true;
    token_.clear();
    Disconnect(conn_, "login ended: " + response.error().message());
    return;
  }
  if (response.error().code() != coord::v1::OK) {
    Finish(key, StatusFromError(response.error()));
    return;
  }
  Finish(key, std::move(response));
}

void Core::RetryLater(uint64_t key, std::chrono::milliseconds delay) {
  auto it = calls_.find(key);
  if (it == calls_.end()) return;
  Call* c = it->second.get();
  c->retry_pending = true;
  c->retry_timer.expires_after(delay);
  c->retry_timer.async_wait([this, key](beast::error_code ec) {
    if (ec) return;
    auto it = calls_.find(key);
    if (it == calls_.end()) return;
    it->second->retry_pending = false;
    if (connected_) Send(it->second.get());
  });
}

void Core::Finish(uint64_t key, Result<Response> result) {
  auto it = calls_.find(key);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls_.erase(it);
  call->timer.cancel();
  call->retry_timer.cancel();
  if (call->sent) in_flight_.erase(call->wire_id);
  if (call->lane >= 0) {
    lanes_[call->lane].busy = false;
    // Hand the lane to the oldest write waiting for one.
    while (!lane_waiters_.empty()) {
      const uint64_t next = lane_waiters_.front();
      lane_waiters_.pop_front();
      auto w = calls_.find(next);
      if (w == calls_.end()) continue;
      TryAssignLane(w->second.get());
      if (connected_) Send(w->second.get());
      break;
    }
  } else if (call->write) {
    // A write that never got a lane leaves the queue.
    lane_waiters_.erase(std::remove(lane_waiters_.begin(), lane_waiters_.end(), key),
                        lane_waiters_.end());
  }
  call->done(std::move(result), conn_ ? conn_->epoch : 0);
}

// ---- Listeners -----------------------------------------------------------------

uint64_t Core::AddListener(Listener listener) {
  std::unique_lock lock(mu_);
  const uint64_t id = next_listener_++;
  if (shut_down_) return id;
  auto add = [this, id, l = std::move(listener)]() mutable {
    if (stopped_) return;
    auto on_connected = l.on_connected;
    listeners_.emplace(id, std::move(l));
    if (connected_ && on_connected) on_connected(conn_->epoch);
  };
  if (InIoThread()) {
    lock.unlock();
    add();
  } else {
    net::post(io_, std::move(add));
  }
  return id;
}

void Core::RemoveListener(uint64_t id) {
  if (InIoThread()) {
    listeners_.erase(id);
    return;
  }
  std::lock_guard lock(mu_);
  if (!shut_down_) net::post(io_, [this, id] { listeners_.erase(id); });
}

}  // namespace coord::client_internal
