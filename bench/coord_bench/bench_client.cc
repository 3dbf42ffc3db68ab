#include "bench_client.h"

#include <boost/asio/connect.hpp>

namespace coord::bench {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

namespace {
constexpr auto kConnectTimeout = std::chrono::seconds(2);
constexpr auto kReconnectBackoff = std::chrono::milliseconds(50);
// How long after the server-side deadline the client stops waiting for a reply.
constexpr auto kReplyGrace = std::chrono::seconds(2);
}  // namespace

BenchClient::BenchClient(net::io_context& io, ClientConfig config, Workload* workload,
                         RunShared* shared)
    : io_(io),
      config_(std::move(config)),
      workload_(workload),
      shared_(shared),
      timer_(io),
      endpoint_(config_.first_endpoint % config_.endpoints.size()) {
  context_.index = config_.index;
  context_.rng.seed(config_.seed);
}

void BenchClient::Start() {
  net::post(io_, [self = shared_from_this()] { self->Connect(); });
}

void BenchClient::Connect() {
  if (shared_->Now() >= shared_->stop_ns.load()) return Finish();
  ws_.emplace(io_);
  buffer_.clear();
  beast::get_lowest_layer(*ws_).expires_after(kConnectTimeout);
  beast::get_lowest_layer(*ws_).async_connect(
      config_.endpoints[endpoint_],
      [self = shared_from_this()](beast::error_code ec) { self->OnConnect(ec); });
}

void BenchClient::OnConnect(beast::error_code ec) {
  if (ec) return RetryConnect();
  // From here the websocket's own timeouts apply (Beast: not the tcp_stream's).
  beast::get_lowest_layer(*ws_).expires_never();
  beast::get_lowest_layer(*ws_).socket().set_option(net::ip::tcp::no_delay(true), ec);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = kConnectTimeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_->set_option(timeouts);
  ws_->binary(true);
  ws_->read_message_max(64 << 20);
  const net::ip::tcp::endpoint& ep = config_.endpoints[endpoint_];
  ws_->async_handshake(
      ep.address().to_string() + ":" + std::to_string(ep.port()), "/v1/ws",
      [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
}

void BenchClient::OnHandshake(beast::error_code ec) {
  if (ec) return RetryConnect();
  if (!ever_connected_) {
    ever_connected_ = true;
    shared_->connected.fetch_add(1);
    if (shared_->notify) shared_->notify();
  }
  Issue();
}

void BenchClient::RetryConnect() {
  shared_->connect_failures.fetch_add(1);
  endpoint_ = (endpoint_ + 1) % config_.endpoints.size();
  // A short back-off so a dead member is not hammered in a tight loop.
  timer_.expires_after(kReconnectBackoff);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->Connect();
  });
}

void BenchClient::Issue() {
  // A multi-request operation runs to its end even past the stop time.
  if (!op_open_ && shared_->Now() >= shared_->stop_ns.load()) return Finish();
  coord::v1::Request request;
  context_.now_ns = shared_->Now();
  context_.untimed = false;
  if (!workload_->Next(context_, &request)) return Finish();
  ++context_.issued;
  in_flight_id_ = next_id_++;
  request.set_id(in_flight_id_);
  request.set_timeout_ms(config_.timeout_ms);
  if (request.has_put() || request.has_delete_() || request.has_txn()) {
    request.set_client_id(config_.client_id);
    request.set_sequence(++sequence_);
  }
  frame_.clear();
  request.SerializeToString(&frame_);
  if (!op_open_) {
    op_open_ = true;
    op_untimed_ = context_.untimed;
    start_ns_ = shared_->Now();
  }
  ArmGuard();
  ws_->async_write(net::buffer(frame_), [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnWrite(ec);
  });
}

void BenchClient::ArmGuard() {
  // A reply (or push) that never comes (stalled member) breaks the connection.
  const uint64_t seq = ++guard_seq_;
  timer_.expires_after(std::chrono::milliseconds(config_.timeout_ms) + kReplyGrace);
  timer_.async_wait([self = shared_from_this(), seq](beast::error_code ec) {
    if (ec || self->guard_seq_ != seq || !self->op_open_ || !self->ws_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(*self->ws_).socket().close(ignored);  // pending I/O fails
  });
}

void BenchClient::OnWrite(beast::error_code ec) {
  if (ec) return OnBroken();
  ReadNext();
}

void BenchClient::ReadNext() {
  ws_->async_read(buffer_,
                  [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void BenchClient::OnRead(beast::error_code ec) {
  if (ec) return OnBroken();
  coord::v1::ServerMessage message;
  const auto data = buffer_.cdata();
  const bool parsed = message.ParseFromArray(data.data(), static_cast<int>(data.size()));
  buffer_.consume(buffer_.size());
  if (!parsed) {
    // The server only sends well-formed frames; treat garbage as a broken link.
    return OnBroken();
  }
  context_.now_ns = shared_->Now();
  Step step = Step::kIgnore;
  if (message.has_response() && in_flight_id_ != 0 && message.response().id() == in_flight_id_) {
    in_flight_id_ = 0;
    step = workload_->OnReply(context_, message.response());
  } else if (waiting_) {
    step = workload_->OnPush(context_, message);
  }
  switch (step) {
    case Step::kIgnore:  // a pushed event or a stray reply: not ours, keep waiting
      return ReadNext();
    case Step::kWait:
      waiting_ = true;
      ArmGuard();  // the wait is bounded like a reply
      return ReadNext();
    case Step::kNext:
      waiting_ = false;
      return Issue();
    case Step::kOk:
    case Step::kFailed:
      Complete(step == Step::kOk);
      return Issue();
  }
}

void BenchClient::Complete(bool ok) {
  timer_.cancel();
  ++guard_seq_;
  // Bookkeeping that succeeded is not an operation; any failure is an error.
  if (!ok || !op_untimed_) records_.push_back(OpRecord{start_ns_, shared_->Now(), ok});
  in_flight_id_ = 0;
  waiting_ = false;
  op_open_ = false;
  workload_->Done(context_, ok);
}

void BenchClient::OnBroken() {
  if (op_open_) Complete(false);
  beast::error_code ignored;
  beast::get_lowest_layer(*ws_).socket().close(ignored);
  ws_.reset();  // no I/O is pending on it: the closed loop has one operation at a time
  endpoint_ = (endpoint_ + 1) % config_.endpoints.size();
  Connect();
}

void BenchClient::Finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  if (ws_ && ws_->is_open()) {
    // Best-effort close handshake (bounded by the handshake timeout).
    ws_->async_close(websocket::close_code::normal,
                     [self = shared_from_this()](beast::error_code) {});
  }
  shared_->finished.fetch_add(1);
  if (shared_->notify) shared_->notify();
}

}  // namespace coord::bench
