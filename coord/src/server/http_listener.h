// HttpListener: accepts client connections on the client port and serves HTTP
// (/healthz, /readyz, /metrics, /) and the WebSocket upgrade on /v1/ws.
//
// Each accepted socket gets its own strand. A connection over max_connections
// receives "503 too many connections" and is closed. HTTP requests are bounded
// (8 KiB headers, no bodies accepted) and time out after 30 s.
//
// Thread-safety: Start/Stop from one thread; the io_context may run many threads.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "coord/server/server.h"
#include "coord/status.h"

namespace coord::server {

class Service;
class Metrics;

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  HttpListener(boost::asio::io_context& io, Service* service, Metrics* metrics,
               ServerLimits limits);

  // Binds and listens on "host:port". Errors: kInvalidArgument, kIOError.
  Status Listen(const std::string& address);
  // Starts accepting (after Listen).
  void Run();
  void Stop();
  // The bound "host:port".
  std::string address() const;

 private:
  void DoAccept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Service* service_;
  Metrics* metrics_;
  ServerLimits limits_;
  std::atomic<uint64_t> next_connection_id_{1};
};

}  // namespace coord::server
