#include "server/http_listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "server/client_stream.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/socket_slot.h"
#include "server/ws_session.h"

namespace coord::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr std::string_view kWebSocketPath = "/v1/ws";

// The path of a request target, without its query.
std::string_view PathOf(beast::string_view target) {
  const std::string_view t(target.data(), target.size());
  return t.substr(0, t.find('?'));
}

// Sec-WebSocket-Key must be the base64 encoding of 16 bytes (RFC 6455 4.1):
// 22 characters of the base64 alphabet and "==".
bool ValidWebSocketKey(beast::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

// A TLS client has this long to complete its handshake.
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);

ClientStream MakeStream(tcp::socket socket, net::ssl::context* tls) {
  if (tls == nullptr) return ClientStream(std::in_place_type<PlainStream>, std::move(socket));
  return ClientStream(std::in_place_type<TlsStream>, std::move(socket), *tls);
}

// One HTTP connection, plain or TLS; hands itself over to a WebSocketSession on upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(ClientStream stream, std::unique_ptr<ClientSocketSlot> slot, uint64_t id,
              Service* service, Metrics* metrics, const ServerLimits& limits)
      : stream_(std::move(stream)),
        slot_(std::move(slot)),
        id_(id),
        service_(service),
        metrics_(metrics),
        limits_(limits) {}

  void Run() {
    net::dispatch(LowestLayer(stream_).get_executor(),
                  beast::bind_front_handler(&HttpSession::Start, shared_from_this()));
  }

 private:
  void Start() {
    auto* tls = std::get_if<TlsStream>(&stream_);
    if (tls == nullptr) return DoRead();
    LowestLayer(stream_).expires_after(kTlsHandshakeTimeout);
    tls->async_handshake(net::ssl::stream_base::server,
                         [self = shared_from_this()](beast::error_code ec) {
                           if (ec) {
                             // Plaintext on the TLS port, no or an untrusted client
                             // certificate, or too slow: nothing to answer in TLS.
                             self->metrics_->CountTlsHandshakeFailure();
                             beast::error_code ignored;
                             LowestLayer(self->stream_).socket().close(ignored);
                             return;
                           }
                           self->DoRead();
                         });
  }

  void DoRead() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(8 * 1024);
    LowestLayer(stream_).expires_after(std::chrono::seconds(30));
    std::visit(
        [&](auto& s) {
          http::async_read(s, buffer_, *parser_,
                           beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
        },
        stream_);
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      // A TLS client that closes without close_notify ends like a plain one.
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != net::error::operation_aborted && ec != net::ssl::error::stream_truncated) {
        // Malformed HTTP: answer 400 and close.
        Send(Reply(http::status::bad_request, "bad request: " + ec.message() + "\n", 11, false));
        return;
      }
      Shutdown();
      return;
    }
    http::request<http::string_body> req = parser_->release();
    const bool upgrade = beast::websocket::is_upgrade(req);
    if (PathOf(req.target()) != kWebSocketPath) {
      if (upgrade) {
        Send(
            Reply(http::status::not_found, "WebSocket endpoint is /v1/ws\n", req.version(), false));
        return;
      }
      Send(Route(req));
      return;
    }
    if (!upgrade) {
      // /v1/ws without a WebSocket upgrade: HTTP/1.0, another protocol (h2c), or
      // no "Connection: Upgrade". Say what is needed instead of 404.
      auto res = Reply(http::status::upgrade_required,
                       "/v1/ws is a WebSocket endpoint: send GET over HTTP/1.1 with "
                       "\"Connection: Upgrade\" and \"Upgrade: websocket\"\n",
                       req.version(), false);
      res.set(http::field::upgrade, "websocket");
      Send(std::move(res));
      return;
    }
    if (!ValidWebSocketKey(req[http::field::sec_websocket_key])) {
      Send(Reply(http::status::bad_request,
                 "Sec-WebSocket-Key must be the base64 encoding of 16 bytes\n", req.version(),
                 false));
      return;
    }
    LowestLayer(stream_).expires_never();
    std::make_shared<WebSocketSession>(std::move(stream_), std::move(slot_), id_, service_,
                                       metrics_, limits_)
        ->Run(std::move(req));
  }

  http::response<http::string_body> Reply(http::status status, std::string body, unsigned version,
                                          bool keep_alive,
                                          const char* type = "text/plain; charset=utf-8") {
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "coordd");
    res.set(http::field::content_type, type);
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  http::response<http::string_body> Route(const http::request<http::string_body>& req) {
    const bool keep = req.keep_alive();
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return Reply(http::status::method_not_allowed, "only GET\n", req.version(), keep);
    }
    const std::string target(PathOf(req.target()));
    if (target == "/healthz") {
      const bool ok = service_->Healthy();
      return Reply(ok ? http::status::ok : http::status::service_unavailable,
                   ok ? "ok\n" : "failed\n", req.version(), keep);
    }
    if (target == "/readyz") {
      const bool ok = service_->Ready();
      return Reply(ok ? http::status::ok : http::status::service_unavailable,
                   ok ? "ready\n" : "not ready\n", req.version(), keep);
    }
    if (target == "/metrics") {
      return Reply(http::status::ok, metrics_->Render(service_->Gauges()), req.version(), keep,
                   "text/plain; version=0.0.4");
    }
    if (target == "/") return Reply(http::status::ok, service_->StatusText(), req.version(), keep);
    return Reply(http::status::not_found, "not found\n", req.version(), keep);
  }

  void Send(http::response<http::string_body> res) {
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    const bool close = !sp->keep_alive();
    std::visit(
        [&](auto& s) {
          http::async_write(s, *sp,
                            [self = shared_from_this(), sp, close](beast::error_code ec, size_t) {
                              if (ec || close) {
                                self->Shutdown();
                                return;
                              }
                              self->DoRead();
                            });
        },
        stream_);
  }

  void Shutdown() {
    auto* tls = std::get_if<TlsStream>(&stream_);
    if (tls == nullptr) {
      beast::error_code ignored;
      LowestLayer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    // close_notify first, so the client sees a clean end of the response.
    LowestLayer(stream_).expires_after(std::chrono::seconds(5));
    tls->async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      LowestLayer(self->stream_).socket().close(ignored);
    });
  }

  ClientStream stream_;
  std::unique_ptr<ClientSocketSlot> slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  uint64_t id_;
  Service* service_;
  Metrics* metrics_;
  ServerLimits limits_;
};

}  // namespace

HttpListener::HttpListener(net::io_context& io, Service* service, Metrics* metrics,
                           ServerLimits limits, std::shared_ptr<net::ssl::context> tls)
    : io_(io),
      tls_(std::move(tls)),
      acceptor_(net::make_strand(io)),
      service_(service),
      metrics_(metrics),
      limits_(limits),
      retry_timer_(acceptor_.get_executor()) {}

Status HttpListener::Listen(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("bad client address '" + address + "'");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  const auto ip = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("bad client host '" + host + "': " + ec.message());
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    return Status::InvalidArgument("bad client port in '" + address + "'");
  }
  if (port < 0 || port > 65535) return Status::InvalidArgument("bad client port");
  const tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + address + ": " + ec.message());
  return Status::Ok();
}

std::string HttpListener::address() const {
  beast::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  if (ec) return "";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

void HttpListener::Run() { DoAccept(); }

void HttpListener::SetTlsContext(std::shared_ptr<net::ssl::context> tls) {
  // An SSL object keeps its SSL_CTX alive by reference count, so connections
  // made with the old context outlive this swap safely.
  tls_.store(std::move(tls));
}

void HttpListener::Stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void HttpListener::DoAccept() {
  acceptor_.async_accept(
      net::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
          return self->OnAcceptError(ec);
        }
        self->backoff_.OnSuccess();
        beast::error_code peer_ec;
        const std::string source = socket.remote_endpoint(peer_ec).address().to_string();
        if (static_cast<size_t>(self->metrics_->sockets()) >= self->limits_.max_connections) {
          self->metrics_->CountConnectionRefused();
          self->Refuse(std::move(socket), "too many connections");
        } else if (peer_ec ||
                   !self->sources_->TryAdd(source, self->limits_.max_connections_per_source)) {
          self->metrics_->CountSourceRefused();
          self->Refuse(std::move(socket), "too many connections from this address");
        } else {
          // Replies and pushed events are small separate writes; with Nagle on, a
          // push queued behind an unacknowledged reply waits for the client's
          // delayed ACK (~40 ms), which made every contended lock handover slow.
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          auto slot = std::make_unique<ClientSocketSlot>(self->metrics_, self->sources_, source);
          const std::shared_ptr<net::ssl::context> tls = self->tls_.load();
          std::make_shared<HttpSession>(MakeStream(std::move(socket), tls.get()),
                                        std::move(slot),
                                        self->next_connection_id_.fetch_add(1), self->service_,
                                        self->metrics_, self->limits_)
              ->Run();
        }
        self->DoAccept();
      });
}

void HttpListener::OnAcceptError(const beast::error_code& ec) {
  metrics_->CountAcceptError();
  const auto wait = backoff_.OnError();
  uint64_t suppressed = 0;
  if (accept_log_.Allow(LogLimiter::Clock::now(), &suppressed)) {
    spdlog::warn("server: accept failed: {}; retrying in {} ms ({} more failures not logged)",
                 ec.message(), wait.count(), suppressed);
  }
  retry_timer_.expires_after(wait);
  retry_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
    if (timer_ec || !self->acceptor_.is_open()) return;
    self->DoAccept();
  });
}

void HttpListener::Refuse(tcp::socket socket, const std::string& reason) {
  // Without reading and without keeping the descriptor: the reply fits in the
  // socket's send buffer, and whatever does not is dropped with the connection.
  const std::string body = reason + "\n";
  const std::string reply =
      "HTTP/1.1 503 Service Unavailable\r\nServer: coordd\r\nConnection: close\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(reply), ignored);
  // A request already received would turn close() into a reset that can
  // overtake the reply: consume what is there (a request head is small).
  char sink[8192];
  socket.read_some(net::buffer(sink), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace coord::server
