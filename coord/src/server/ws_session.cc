#include "server/ws_session.h"

#include <openssl/ssl.h>

#include "coord/tls_files.h"

#include <spdlog/spdlog.h>

#include "coord/server/server.h"
#include "server/codec.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/log_limiter.h"
#include "server/socket_slot.h"

namespace coord::server {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

// How long a connection may stay past its outbound bound before it is closed.
constexpr auto kSlowClientGrace = std::chrono::seconds(10);
// While auth is enabled, a connection must authenticate within this long after
// the upgrade (the first-message timeout): anonymous connections cannot hold
// slots doing nothing.
constexpr auto kLoginGrace = std::chrono::seconds(10);

// One line per 10 s for undecodable frames, whichever connection sends them.
LogLimiter& BadFrameLog() {
  static LogLimiter limiter(std::chrono::seconds(10));
  return limiter;
}

}  // namespace

WebSocketSession::WebSocketSession(ClientStream stream,
                                   std::unique_ptr<ClientSocketSlot> slot, uint64_t connection_id,
                                   Service* service, Metrics* metrics, const ServerLimits& limits)
    : slot_(std::move(slot)),
      ws_(std::move(stream)),
      connection_id_(connection_id),
      service_(service),
      metrics_(metrics),
      max_inflight_(limits.max_inflight_per_connection),
      max_outbound_bytes_(limits.max_outbound_bytes_per_connection),
      slow_timer_(ws_.get_executor()),
      login_timer_(ws_.get_executor()),
      queue_(limits.max_pending_events_per_watch) {
  ws_.Visit([&](auto& ws) { ws.read_message_max(limits.max_request_bytes); });
  metrics_->ConnectionOpened();
}

WebSocketSession::~WebSocketSession() { metrics_->ConnectionClosed(); }

void WebSocketSession::Run(beast::http::request<beast::http::string_body> request) {
  ConnectionIdentity identity;
  if (auto* tls = ws_.tls_stream()) {
    // Verified by the handshake; whether its name is a user is checked per request.
    X509* certificate = SSL_get_peer_certificate(tls->native_handle());
    const std::vector<std::string> names = tls::CertificateNames(certificate);
    if (certificate != nullptr) X509_free(certificate);
    if (!names.empty()) {
      identity.user = names.back();  // the common name (or the last DNS name)
      identity.from_certificate = true;
    }
  }
  const SubprotocolOffer offer =
      ParseSubprotocols(std::string(request[beast::http::field::sec_websocket_protocol]));
  if (!offer.token.empty()) {
    identity.offered_token = offer.token;
    identity.user.clear();  // the token wins over a certificate
    identity.from_certificate = false;
  }
  set_identity(std::move(identity));
  // Idle timeout with pings: a stalled peer is disconnected.
  ws_.Visit([&](auto& ws) {
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.set_option(websocket::stream_base::decorator(
        [chosen = offer.chosen](websocket::response_type& res) {
          res.set(beast::http::field::server, "coordd");
          // A browser fails the connection unless one offered subprotocol is echoed.
          if (!chosen.empty()) res.set(beast::http::field::sec_websocket_protocol, chosen);
        }));
    ws.async_accept(request,
                    beast::bind_front_handler(&WebSocketSession::OnAccept, shared_from_this()));
  });
}

SubprotocolOffer ParseSubprotocols(std::string_view header) {
  SubprotocolOffer out;
  std::string first;
  bool v1 = false;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view item = header.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == kSubprotocolV1) v1 = true;
    if (item.substr(0, kSubprotocolTokenPrefix.size()) == kSubprotocolTokenPrefix &&
        out.token.empty()) {
      out.token = std::string(item.substr(kSubprotocolTokenPrefix.size()));
      first = std::string(item);
    }
    pos = comma + 1;
  }
  out.chosen = v1 ? std::string(kSubprotocolV1) : first;
  return out;
}

void WebSocketSession::OnAccept(beast::error_code ec) {
  if (ec) {
    Close();
    return;
  }
  StartLoginTimer();
  DoRead();
}

void WebSocketSession::DoRead() {
  ws_.Visit([&](auto& ws) {
    ws.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::OnRead, shared_from_this()));
  });
}

void WebSocketSession::OnRead(beast::error_code ec, size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      metrics_->CountBadFrame();
      spdlog::info("server: connection {}: frame over the {}-byte limit, closing", connection_id_,
                   ws_.Visit([](auto& ws) { return ws.read_message_max(); }));
    }
    Close();
    return;
  }
  const bool text = ws_.Visit([](auto& ws) { return ws.got_text(); });
  const std::string payload = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  uint64_t id = 0;
  auto request = DecodeRequest(payload, text, &id);
  if (!request.ok()) {
    metrics_->CountBadFrame();
    uint64_t suppressed = 0;
    if (BadFrameLog().Allow(LogLimiter::Clock::now(), &suppressed)) {
      spdlog::info("server: connection {}: request {} refused: {} ({} more not logged)",
                   connection_id_, id, request.status().message(), suppressed);
    }
    coord::v1::ServerMessage m;
    *m.mutable_response() =
        ErrorResponse(id, coord::v1::INVALID_ARGUMENT, request.status().message());
    inflight_.fetch_add(1);
    Push(m, text);
  } else if (inflight_.load() >= max_inflight_) {
    coord::v1::ServerMessage m;
    *m.mutable_response() = ErrorResponse(request->id(), coord::v1::UNAVAILABLE,
                                          "too many requests in flight on this connection (limit " +
                                              std::to_string(max_inflight_) + ")");
    inflight_.fetch_add(1);
    Push(m, text);
  } else {
    inflight_.fetch_add(1);
    service_->Handle(shared_from_this(), std::move(*request), text);
  }
  if (OverBound()) {
    PauseReading();
  } else {
    DoRead();
  }
}

bool WebSocketSession::OverBound() {
  std::lock_guard lock(mu_);
  return queue_.bytes() + writing_bytes_ >= max_outbound_bytes_;
}

bool WebSocketSession::OverHardBoundLocked() const {
  return !closed_ && queue_.bytes() + writing_bytes_ > 2 * max_outbound_bytes_;
}

void WebSocketSession::PauseReading() {
  read_paused_ = true;
  metrics_->CountReadPause();
  slow_timer_.expires_after(kSlowClientGrace);
  slow_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || !self->read_paused_) return;
    self->CloseSlow("outbound queue stayed over " + std::to_string(self->max_outbound_bytes_) +
                    " bytes for " + std::to_string(kSlowClientGrace.count()) +
                    " s: not reading replies");
  });
}

void WebSocketSession::StartLoginTimer() {
  login_timer_.expires_after(kLoginGrace);
  login_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || !self->service_->NeedsLogin(*self)) return;
    self->metrics_->CountLoginTimeout();
    self->ClosePolicy("auth is enabled and the connection did not authenticate within " +
                      std::to_string(kLoginGrace.count()) + " s");
  });
}

void WebSocketSession::CloseSlow(const std::string& reason) {
  metrics_->CountSlowClientClosed();
  ClosePolicy(reason);
}

void WebSocketSession::ClosePolicy(const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    queue_.Clear();
  }
  spdlog::info("server: connection {}: closing, {}", connection_id_, reason);
  // On the strand, not here: the caller may hold the lock of whatever pushed (the
  // watch hub, the push registry), which OnConnectionClosed takes too.
  boost::asio::post(ws_.get_executor(), [self = shared_from_this(), reason] {
    self->service_->OnConnectionClosed(self->connection_id_);
    self->slow_timer_.cancel();
    self->login_timer_.cancel();
    auto shutdown = [self] {
      beast::error_code ignored;
      self->ws_.lowest_layer().socket().shutdown(
          boost::asio::ip::tcp::socket::shutdown_both, ignored);
    };
    if (self->current_) {
      // A write is stuck on a client that does not read: no close frame can pass it.
      shutdown();
      return;
    }
    self->ws_.Visit([&](auto& ws) {
      ws.async_close(websocket::close_reason(websocket::close_code::policy_error, reason),
                     [shutdown](beast::error_code) { shutdown(); });
    });
  });
}

void WebSocketSession::ReplyDone(const coord::v1::ServerMessage& message) {
  if (message.has_response() && inflight_.load() > 0) inflight_.fetch_sub(1);
}

std::string WebSocketSession::HardBoundReason() const {
  return "outbound queue over " + std::to_string(2 * max_outbound_bytes_) +
         " bytes: not reading replies";
}

uint64_t WebSocketSession::Reserve() {
  std::lock_guard lock(mu_);
  return queue_.Reserve();
}

void WebSocketSession::Fill(uint64_t slot, const coord::v1::ServerMessage& message, bool text) {
  ReplyDone(message);
  bool over = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    queue_.Fill(slot, OutboundFrame{EncodeServerMessage(message, text), text});
    over = OverHardBoundLocked();
  }
  if (over) return CloseSlow(HardBoundReason());
  KickWriter();
}

void WebSocketSession::Push(const coord::v1::ServerMessage& message, bool text) {
  ReplyDone(message);
  bool over = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    queue_.Push(OutboundFrame{EncodeServerMessage(message, text), text});
    over = OverHardBoundLocked();
  }
  if (over) return CloseSlow(HardBoundReason());
  KickWriter();
}

bool WebSocketSession::PushEvent(int64_t watch_id, const coord::v1::ServerMessage& message,
                                 bool text) {
  bool over = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return true;  // the hub drops the watch when the connection closes
    if (!queue_.PushEvent(watch_id, OutboundFrame{EncodeServerMessage(message, text), text})) {
      queue_.ForgetWatch(watch_id);
      return false;
    }
    over = OverHardBoundLocked();
  }
  if (over) {
    CloseSlow(HardBoundReason());
    return true;  // the hub drops the watch with the connection
  }
  KickWriter();
  return true;
}

void WebSocketSession::KickWriter() {
  {
    std::lock_guard lock(mu_);
    if (writing_ || closed_) return;
    writing_ = true;
  }
  boost::asio::post(ws_.get_executor(),
                    beast::bind_front_handler(&WebSocketSession::DoWrite, shared_from_this()));
}

void WebSocketSession::DoWrite() {
  {
    std::lock_guard lock(mu_);
    current_ = closed_ ? std::nullopt : queue_.PopReady();
    writing_bytes_ = current_ ? current_->payload.size() : 0;
    if (!current_) {
      writing_ = false;
      return;
    }
  }
  ws_.Visit([&](auto& ws) {
    ws.text(current_->text);
    ws.async_write(boost::asio::buffer(current_->payload),
                   beast::bind_front_handler(&WebSocketSession::OnWrite, shared_from_this()));
  });
}

void WebSocketSession::OnWrite(beast::error_code ec, size_t) {
  if (ec) {
    Close();
    return;
  }
  {
    std::lock_guard lock(mu_);
    writing_bytes_ = 0;
  }
  if (read_paused_ && !OverBound()) {
    read_paused_ = false;
    slow_timer_.cancel();
    DoRead();
  }
  DoWrite();
}

void WebSocketSession::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  service_->OnConnectionClosed(connection_id_);
  login_timer_.cancel();
  beast::error_code ignored;
  ws_.lowest_layer().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
}

}  // namespace coord::server
