// Core: connection management (connect, failover, back-off, frames) and the
// TEST_ hooks. See core.h for the invariants.
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include "core.h"
#include "coord/client/error.h"

namespace coord::client_internal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using coord::v1::Request;
using coord::v1::Response;
using coord::v1::ServerMessage;

namespace {

std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  return {address.substr(0, colon), address.substr(colon + 1)};
}

}  // namespace

// ---- Connection management --------------------------------------------------------

void Core::Connect() {
  if (stopped_) return;
  auto conn = std::make_shared<Connection>(io_, tls_.get());
  conn->endpoint = next_endpoint_;
  std::tie(conn->host, conn->port) = SplitHostPort(endpoints_[conn->endpoint]);
  conn_ = conn;
  conn->lowest_layer().expires_after(options_.connect_timeout);
  conn->resolver.async_resolve(
      conn->host, conn->port,
      [this, conn](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return ConnectFailed(conn, "resolve: " + ec.message());
        conn->lowest_layer().async_connect(
            results, [this, conn](beast::error_code ec, const tcp::endpoint&) {
              if (ec) return ConnectFailed(conn, "connect: " + ec.message());
              beast::error_code ignored;
              conn->lowest_layer().socket().set_option(tcp::no_delay(true), ignored);
              auto* tls = std::get_if<Connection::Tls>(&conn->ws);
              if (tls == nullptr) return Handshake(conn);
              // Verify the member's certificate against the endpoint's host (a
              // DNS name or an IP address); a DNS name also goes out as SNI
              // (RFC 6066 allows no IP literals there).
              auto& ssl = tls->next_layer();
              ssl.set_verify_callback(net::ssl::host_name_verification(conn->host));
              beast::error_code not_ip;
              net::ip::make_address(conn->host, not_ip);
              if (not_ip) SSL_set_tlsext_host_name(ssl.native_handle(), conn->host.c_str());
              ssl.async_handshake(net::ssl::stream_base::client,
                                  [this, conn](beast::error_code ec) {
                                    if (ec) return ConnectFailed(conn, "tls: " + ec.message());
                                    Handshake(conn);
                                  });
            });
      });
}

void Core::Handshake(const std::shared_ptr<Connection>& conn) {
  conn->Visit([&](auto& ws) {
    ws.binary(true);
    ws.read_message_max(64u << 20);
    ws.async_handshake(conn->host + ":" + conn->port, "/v1/ws",
                       [this, conn](beast::error_code ec) {
                         if (ec) return ConnectFailed(conn, "handshake: " + ec.message());
                         if (options_.auth_enabled()) return Login(conn);
                         OnConnected(conn);
                       });
  });
}

void Core::OnConnected(const std::shared_ptr<Connection>& conn) {
  if (conn != conn_ || stopped_) return;
  conn->lowest_layer().expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options_.connect_timeout;
  timeouts.idle_timeout = options_.idle_timeout;
  timeouts.keep_alive_pings = true;
  conn->Visit([&](auto& ws) { ws.set_option(timeouts); });
  conn->open = true;
  connected_ = true;
  attempts_in_round_ = 0;
  backoff_.Reset();
  {
    std::lock_guard lock(mu_);
    conn->epoch = ++epoch_;
    connected_endpoint_ = conn->endpoint;
    ++connections_;
  }
  connected_cv_.notify_all();
  DoRead(conn);
  // Streams first (their owners re-create them), then the calls that waited.
  std::vector<uint64_t> ids;
  for (const auto& [id, l] : listeners_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = listeners_.find(id);
    if (it != listeners_.end() && it->second.on_connected && conn == conn_) {
      auto fn = it->second.on_connected;
      fn(conn->epoch);
    }
  }
  if (conn == conn_) SendUnsent();
}

namespace {
// The wire id of a connection's login; calls use ids from 1 up.
constexpr uint64_t kLoginWireId = ~uint64_t{0};
// A password check costs the member tens of ms, more when many log in at once.
constexpr auto kMinLoginTimeout = std::chrono::seconds(5);
}  // namespace

void Core::Login(const std::shared_ptr<Connection>& conn) {
  if (conn != conn_ || stopped_) return;
  Request login;
  login.set_id(kLoginWireId);
  auto* a = login.mutable_authenticate();
  conn->presented_token = !token_.empty();
  if (conn->presented_token) {
    a->set_token(token_);
  } else {
    a->set_name(options_.user);
    a->set_password(options_.password);
  }
  conn->logging_in = true;
  conn->lowest_layer().expires_after(
      std::max<std::chrono::steady_clock::duration>(options_.connect_timeout, kMinLoginTimeout));
  Enqueue(conn, login.SerializeAsString(), false);
  DoRead(conn);
}

void Core::OnLoginReply(const std::shared_ptr<Connection>& conn, const Response& response) {
  conn->logging_in = false;
  const auto code = response.error().code();
  if (code == coord::v1::OK) {
    token_ = response.authenticate().token();
    return OnConnected(conn);
  }
  if (code == coord::v1::INVALID_ARGUMENT && response.error().message().find("not enabled") !=
                                                 std::string::npos) {
    return OnConnected(conn);  // auth is off: nothing to prove
  }
  if (code == coord::v1::UNAUTHENTICATED && conn->presented_token && !options_.password.empty()) {
    token_.clear();  // expired or revoked: log in with the password instead
    return Login(conn);
  }
  if (code == coord::v1::UNAUTHENTICATED || code == coord::v1::INVALID_ARGUMENT) {
    // Refused for good: the calls waiting for a connection learn why.
    const Status why = StatusFromError(response.error());
    std::vector<uint64_t> keys;
    for (const auto& [key, call] : calls_) {
      if (!call->sent) keys.push_back(key);
    }
    for (uint64_t key : keys) {
      Finish(key, Status(why.code(), "login as \"" + options_.user + "\" refused: " +
                                         why.message()));
    }
  }
  ConnectFailed(conn, "login: " + response.error().message());
}

void Core::ConnectFailed(std::shared_ptr<Connection> conn, const std::string& why) {
  (void)why;
  if (conn != conn_ || stopped_) return;
  beast::error_code ignored;
  conn->lowest_layer().socket().close(ignored);
  conn->closed = true;
  conn_.reset();
  const int n = static_cast<int>(endpoints_.size());
  next_endpoint_ = (conn->endpoint + 1) % n;
  // One immediate attempt per endpoint, then back off before the next round.
  if (++attempts_in_round_ < n) {
    ScheduleConnect(std::chrono::milliseconds(0));
  } else {
    attempts_in_round_ = 0;
    ScheduleConnect(backoff_.Next());
  }
}

void Core::ScheduleConnect(std::chrono::milliseconds delay) {
  if (stopped_) return;
  if (delay.count() <= 0) {
    net::post(io_, [this] { Connect(); });
    return;
  }
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) Connect();
  });
}

void Core::Disconnect(std::shared_ptr<Connection> conn, const std::string& why) {
  (void)why;
  if (conn != conn_ || stopped_) return;
  if (!conn->open) return ConnectFailed(conn, why);
  conn->closed = true;
  beast::error_code ignored;
  conn->lowest_layer().socket().close(ignored);
  conn_.reset();
  connected_ = false;
  {
    std::lock_guard lock(mu_);
    connected_endpoint_ = -1;
  }
  // Replies in flight are lost: re-send them (same lane and sequence for writes)
  // on the next connection; calls bound to this connection fail.
  std::vector<uint64_t> keys;
  for (const auto& [wire, key] : in_flight_) keys.push_back(key);
  in_flight_.clear();
  for (uint64_t key : keys) {
    auto it = calls_.find(key);
    if (it == calls_.end()) continue;
    it->second->sent = false;
    if (it->second->opts.bound_epoch != 0) {
      Finish(key, Status::Unavailable("connection lost"));
    }
  }
  std::vector<uint64_t> ids;
  for (const auto& [id, l] : listeners_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = listeners_.find(id);
    if (it != listeners_.end() && it->second.on_disconnected) {
      auto fn = it->second.on_disconnected;
      fn(conn->epoch);
    }
  }
  attempts_in_round_ = 0;
  next_endpoint_ = (conn->endpoint + 1) % static_cast<int>(endpoints_.size());
  ScheduleConnect(std::chrono::milliseconds(0));
}

void Core::DoRead(const std::shared_ptr<Connection>& conn) {
  if (conn->reading || conn->closed) return;
  conn->reading = true;
  auto on_read = [this, conn](beast::error_code ec, size_t) {
    conn->reading = false;
    if (ec) return Disconnect(conn, "read: " + ec.message());
    std::string data = beast::buffers_to_string(conn->buffer.data());
    conn->buffer.consume(conn->buffer.size());
    if (conn != conn_) return;
    if (stalled_) {
      conn->held.push_back(std::move(data));
      return;  // no further read until TEST_StallIo(false)
    }
    OnFrame(conn, std::move(data));
    if (conn == conn_ && !stalled_) DoRead(conn);
  };
  conn->Visit([&](auto& ws) { ws.async_read(conn->buffer, on_read); });
}

void Core::OnFrame(const std::shared_ptr<Connection>& conn, std::string data) {
  ServerMessage message;
  if (!message.ParseFromString(data)) {
    return Disconnect(conn, "undecodable frame from the server");
  }
  if (conn->logging_in) {
    if (message.has_response() && message.response().id() == kLoginWireId) {
      OnLoginReply(conn, message.response());
    }
    return;  // nothing else can come before the login's reply
  }
  if (message.has_response()) {
    const uint64_t wire = message.response().id();
    if (wire != 0 && wire == test_lost_reply_wire_) {
      test_lost_reply_wire_ = 0;  // TEST_LoseNextWrite: the reply is "lost"
      return;
    }
    auto it = in_flight_.find(wire);
    if (it != in_flight_.end() && test_drop_next_write_reply_) {
      auto call = calls_.find(it->second);
      if (call != calls_.end() && call->second->write) {
        // Test hook: the reply is "lost"; the connection breaks as it would in a
        // real network failure, and the write is retried exactly-once.
        test_drop_next_write_reply_ = false;
        return Disconnect(conn, "TEST_DropNextWriteReply");
      }
    }
    OnResponse(std::move(*message.mutable_response()));
    return;
  }
  std::vector<uint64_t> ids;
  for (const auto& [id, l] : listeners_) ids.push_back(id);
  for (uint64_t id : ids) {
    if (conn != conn_) return;
    auto it = listeners_.find(id);
    if (it != listeners_.end() && it->second.on_push) {
      auto fn = it->second.on_push;
      fn(message, conn->epoch);
    }
  }
}

void Core::Enqueue(const std::shared_ptr<Connection>& conn, std::string frame, bool break_after) {
  conn->outbox.push_back(Connection::Out{std::move(frame), break_after});
  DoWrite(conn);
}

void Core::DoWrite(const std::shared_ptr<Connection>& conn) {
  if (conn->writing || conn->outbox.empty() || conn->closed || stalled_) return;
  conn->writing = true;
  auto on_write = [this, conn](beast::error_code ec, size_t) {
    conn->writing = false;
    const bool brk = conn->outbox.front().break_after;
    conn->outbox.pop_front();
    if (ec) return Disconnect(conn, "write: " + ec.message());
    if (brk) return Disconnect(conn, "TEST_BreakAfterNextWriteSend");
    DoWrite(conn);
  };
  conn->Visit([&](auto& ws) { ws.async_write(net::buffer(conn->outbox.front().data), on_write); });
}

// ---- Test hooks -------------------------------------------------------------------

void Core::TEST_LoseNextWrite(coord::v1::Request::BodyCase body, bool reply) {
  RunSync([this, body, reply] {
    test_lose_body_ = body;
    test_lose_reply_ = reply;
  });
}

void Core::TEST_DropNextWriteReply() {
  RunSync([this] { test_drop_next_write_reply_ = true; });
}

void Core::TEST_BreakAfterNextWriteSend() {
  RunSync([this] { test_break_after_next_write_ = true; });
}

void Core::TEST_StallIo(bool stall) {
  RunSync([this, stall] {
    stalled_ = stall;
    if (stall || !conn_ || !conn_->open) return;
    auto conn = conn_;
    while (!conn->held.empty() && conn == conn_ && !stalled_) {
      std::string frame = std::move(conn->held.front());
      conn->held.pop_front();
      OnFrame(conn, std::move(frame));
    }
    if (conn == conn_) {
      DoRead(conn);
      DoWrite(conn);
    }
  });
}

void Core::TEST_BreakConnection() {
  RunSync([this] {
    if (conn_ && conn_->open) Disconnect(conn_, "TEST_BreakConnection");
  });
}

}  // namespace coord::client_internal
