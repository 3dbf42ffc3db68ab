// HttpListener: accepts client connections on the client port and serves HTTP
// (/healthz, /readyz, /metrics, /) and the WebSocket upgrade on /v1/ws — over
// TLS only (HTTPS, WSS) when given a TLS context. A TLS handshake must finish
// within 10 s; a failed one (plaintext, no or an untrusted client certificate)
// closes the connection and counts in coord_client_tls_handshake_failures_total.
//
// Each accepted socket gets its own strand. Every accepted TCP connection counts
// against max_connections from accept to close (ClientSocketSlot), whether it
// upgrades, speaks HTTP or sends nothing; one over the cap is answered "503 too
// many connections" at once (without reading) and closed. So is one from a source
// IP address that already has max_connections_per_source open ("503 too many
// connections from this address"). HTTP requests are
// bounded (8 KiB headers, no bodies accepted) and time out after 30 s.
//
// A failed accept (out of descriptors, kernel memory) backs off (AcceptBackoff)
// and logs at most one line per 10 s; the server sizes max_connections so that
// client sockets cannot take the descriptors storage needs (descriptor_budget.h).
//
// Thread-safety: Start/Stop from one thread; the io_context may run many threads.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coord/server/server.h"
#include "coord/status.h"
#include "server/accept_backoff.h"
#include "server/log_limiter.h"
#include "server/source_counter.h"

namespace coord::server {

class Service;
class Metrics;

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  // `tls` null: plain HTTP and WebSocket.
  HttpListener(boost::asio::io_context& io, Service* service, Metrics* metrics,
               ServerLimits limits, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  // Binds and listens on "host:port". Errors: kInvalidArgument, kIOError.
  Status Listen(const std::string& address);
  // Starts accepting (after Listen).
  void Run();
  void Stop();
  // The bound "host:port".
  std::string address() const;
  // Connections accepted from now on use `tls` (a reload); open ones keep theirs.
  // Only for a listener created with TLS. Any thread.
  void SetTlsContext(std::shared_ptr<boost::asio::ssl::context> tls);

 private:
  void DoAccept();
  void OnAcceptError(const boost::system::error_code& ec);
  // Answers 503 `reason` without reading and closes (a connection cap is reached).
  void Refuse(boost::asio::ip::tcp::socket socket, const std::string& reason);

  boost::asio::io_context& io_;
  // Null: plain. Replaced by SetTlsContext; read at each accept.
  std::atomic<std::shared_ptr<boost::asio::ssl::context>> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Service* service_;
  Metrics* metrics_;
  ServerLimits limits_;
  std::atomic<uint64_t> next_connection_id_{1};
  // Open connections per source address; shared with every connection's slot.
  const std::shared_ptr<SourceCounter> sources_ = std::make_shared<SourceCounter>();
  AcceptBackoff backoff_;                 // on the acceptor's strand
  boost::asio::steady_timer retry_timer_;  // on the acceptor's strand
  LogLimiter accept_log_{std::chrono::seconds(10)};
};

}  // namespace coord::server
