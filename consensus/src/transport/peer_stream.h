// PeerStream: one peer connection's byte stream, plain TCP or TLS over TCP,
// behind one type so the handshake and framing code is written once.
//
// It models Asio's AsyncReadStream and AsyncWriteStream (async_read_some,
// async_write_some, get_executor), so asio::async_read / async_write compose on
// it. A TLS stream also holds the SSL context it was made from, so a context
// replaced by a certificate reload stays alive for the connections using it.
//
// Lifetime: Asio forbids destroying a TLS stream while an operation on it is
// pending. Owners therefore hold a PeerStream by shared_ptr and every pending
// handler keeps a copy; closing the socket makes pending operations complete.
//
// Thread-safety: none; used on the transport's I/O thread only. One read and one
// write may be outstanding at once (TLS included).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace coord::raft::transport {

class PeerStream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsSocket = boost::asio::ssl::stream<Socket>;
  using executor_type = Socket::executor_type;

  // A plain stream over `socket`.
  explicit PeerStream(Socket socket) : plain_(std::move(socket)) {}
  // A TLS stream over `socket`; the handshake is still to be done.
  PeerStream(Socket socket, std::shared_ptr<boost::asio::ssl::context> context)
      : context_(std::move(context)), tls_(std::in_place, std::move(socket), *context_) {}

  bool tls() const { return tls_.has_value(); }
  // The TCP socket underneath (connect, options, close).
  Socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  executor_type get_executor() { return socket().get_executor(); }

  // TLS only: the handshake, in the given role.
  template <class Handler>
  void async_handshake(boost::asio::ssl::stream_base::handshake_type role, Handler&& handler) {
    tls_->async_handshake(role, std::forward<Handler>(handler));
  }
  // TLS only, after the handshake: the names in the other side's certificate
  // (coord::tls::CertificateNames); empty when it sent none.
  std::vector<std::string> PeerCertificateNames();

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  std::optional<Socket> plain_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::optional<TlsSocket> tls_;
};

}  // namespace coord::raft::transport
