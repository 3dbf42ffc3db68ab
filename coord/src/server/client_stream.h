// The client port's streams: plain TCP or TLS over TCP (ClientStream), and the
// WebSocket over either (ClientWebSocket). One type each, so the HTTP and
// WebSocket sessions are written once for both.
//
// Thread-safety: none (a session uses its stream on its strand).
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <utility>
#include <variant>

namespace coord::server {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using ClientStream = std::variant<PlainStream, TlsStream>;

// The TCP stream under either kind (timeouts, the socket, the executor).
inline boost::beast::tcp_stream& LowestLayer(ClientStream& stream) {
  return std::visit(
      [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); },
      stream);
}

class ClientWebSocket {
 public:
  using Plain = boost::beast::websocket::stream<PlainStream>;
  using Tls = boost::beast::websocket::stream<TlsStream>;

  explicit ClientWebSocket(ClientStream&& stream)
      : ws_(std::visit(
            [](auto&& s) -> std::variant<Plain, Tls> {
              using S = std::decay_t<decltype(s)>;
              return std::variant<Plain, Tls>(
                  std::in_place_type<boost::beast::websocket::stream<S>>, std::move(s));
            },
            std::move(stream))) {}

  // Calls f(ws) with the WebSocket stream of either kind; returns what f returns.
  template <class F>
  decltype(auto) Visit(F&& f) {
    return std::visit(std::forward<F>(f), ws_);
  }

  boost::beast::tcp_stream& lowest_layer() {
    return std::visit(
        [](auto& ws) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(ws); },
        ws_);
  }
  boost::beast::tcp_stream::executor_type get_executor() { return lowest_layer().get_executor(); }
  bool tls() const { return std::holds_alternative<Tls>(ws_); }
  // The TLS stream under the WebSocket; nullptr on a plain connection.
  TlsStream* tls_stream() {
    auto* ws = std::get_if<Tls>(&ws_);
    return ws == nullptr ? nullptr : &ws->next_layer();
  }

 private:
  std::variant<Plain, Tls> ws_;
};

}  // namespace coord::server
