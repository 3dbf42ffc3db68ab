#include "transport/outbound_peer.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "transport/frame_codec.h"
#include "transport/inbound_connection.h"
#include "transport/peer_auth.h"
#include "transport/peer_tls.h"

namespace coord::raft::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Logs the 1st, 2nd, 4th, 8th... consecutive failure at info and the rest at
// debug: a peer that stays down for hours leaves a handful of lines, not one
// every two seconds.
bool ShouldLogFailure(uint64_t failures) { return (failures & (failures - 1)) == 0; }

uint64_t JitterSeed(const TcpTransportOptions& options, NodeId peer) {
  uint64_t base = options.reconnect_seed != 0 ? options.reconnect_seed : options.self_id;
  // Different peers of one member get different jitter sequences.
  return base * 0x9E3779B97F4A7C15ULL + peer;
}

}  // namespace

OutboundPeer::OutboundPeer(std::shared_ptr<TransportContext> ctx, NodeId id, HostPort address)
    : ctx_(std::move(ctx)),
      id_(id),
      host_port_(std::move(address)),
      address_text_(FormatHostPort(host_port_.host, host_port_.port)),
      resolver_(ctx_->io),
      connect_timer_(ctx_->io),
      retry_timer_(ctx_->io),
      backoff_(ctx_->options.reconnect_initial, ctx_->options.reconnect_max,
               JitterSeed(ctx_->options, id)) {}

bool OutboundPeer::Enqueue(std::string frame) {
  const auto& options = ctx_->options;
  bool post_write = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || queue_.size() >= options.max_queue_messages ||
        queue_bytes_ + frame.size() > options.max_queue_bytes) {
      ctx_->counters.dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    if (connected_ && !write_scheduled_) {
      write_scheduled_ = true;
      post_write = true;
    }
  }
  if (post_write) asio::post(ctx_->io, [self = shared_from_this()] { self->DoWrite(); });
  return true;
}

bool OutboundPeer::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void OutboundPeer::Start() {
  if (started_ || closed()) return;
  started_ = true;
  Connect();
}

void OutboundPeer::Close() {
  size_t discarded = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    connected_ = false;
    write_scheduled_ = false;
    discarded = queue_.size();
    queue_.clear();
    queue_bytes_ = 0;
  }
  ctx_->counters.dropped.fetch_add(discarded, std::memory_order_relaxed);
  ErrorCode ignored;
  connect_timer_.cancel(ignored);
  retry_timer_.cancel(ignored);
  resolver_.cancel();
  CloseSocket();
  ++epoch_;
  ++attempt_;
}

void OutboundPeer::Connect() {
  if (closed()) return;
  const uint64_t attempt = ++attempt_;
  attempt_timed_out_ = false;
  ErrorCode ec;
  asio::ip::address ip = asio::ip::make_address(host_port_.host, ec);
  if (!ec) {
    ConnectTo(tcp::endpoint(ip, host_port_.port));
    return;
  }
  // A host name: resolve it on every attempt, so a moved peer (new DNS record)
  // is found again after a reconnect.
  resolver_.async_resolve(
      host_port_.host, std::to_string(host_port_.port),
      [self = shared_from_this(), attempt](const ErrorCode& ec, tcp::resolver::results_type r) {
        if (self->closed() || attempt != self->attempt_) return;
        if (ec) {
          self->OnConnectFailed("cannot resolve host: " + ec.message());
          return;
        }
        // Prefer an endpoint of the bind address's family, since the socket is
        // bound before connecting.
        const auto& bind = self->ctx_->bind_address;
        for (const auto& entry : r) {
          if (!bind || entry.endpoint().address().is_v4() == bind->is_v4()) {
            self->ConnectTo(entry.endpoint());
            return;
          }
        }
        self->OnConnectFailed("host resolves to no address of the bind address's family");
      });
}

void OutboundPeer::CloseSocket() {
  ErrorCode ignored;
  if (stream_) stream_->socket().close(ignored);
}

void OutboundPeer::ConnectTo(const tcp::endpoint& endpoint) {
  const uint64_t attempt = attempt_;
  CloseSocket();
  std::shared_ptr<asio::ssl::context> tls = ctx_->tls_context.load();
  stream_ = tls ? std::make_shared<PeerStream>(tcp::socket(ctx_->io), std::move(tls))
                : std::make_shared<PeerStream>(tcp::socket(ctx_->io));
  tcp::socket& socket = stream_->socket();
  ErrorCode ec;
  socket.open(endpoint.protocol(), ec);
  if (ec) {
    OnConnectFailed("cannot open socket: " + ec.message());
    return;
  }
  const auto& bind = ctx_->bind_address;
  if (bind && bind->is_v4() == endpoint.address().is_v4()) {
    // Port 0: the OS picks the local port; only the source address matters.
    socket.bind(tcp::endpoint(*bind, 0), ec);
    if (ec) {
      OnConnectFailed("cannot bind to " + bind->to_string() + ": " + ec.message());
      return;
    }
  }
  connecting_ = true;
  connect_timer_.expires_after(ctx_->options.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), attempt](const ErrorCode& ec) {
    if (ec || self->closed() || attempt != self->attempt_ || !self->connecting_) return;
    // Closing the socket completes the pending connect with operation_aborted.
    self->attempt_timed_out_ = true;
    self->CloseSocket();
  });
  socket.async_connect(endpoint, [self = shared_from_this(), stream = stream_,
                                  attempt](const ErrorCode& ec) { self->OnConnect(ec, attempt); });
}

void OutboundPeer::OnConnect(const ErrorCode& ec, uint64_t attempt) {
  if (closed() || attempt != attempt_) return;
  connecting_ = false;
  ErrorCode ignored;
  connect_timer_.cancel(ignored);
  if (ec) {
    OnConnectFailed(attempt_timed_out_ ? std::string("connect timed out") : ec.message());
    return;
  }
  stream_->socket().set_option(tcp::no_delay(true), ignored);
  stream_->socket().set_option(asio::socket_base::keep_alive(true), ignored);
  if (!stream_->tls()) {
    ReadChallenge(attempt);
    return;
  }
  ArmHandshakeDeadline(attempt);
  stream_->async_handshake(asio::ssl::stream_base::client,
                           [self = shared_from_this(), stream = stream_,
                            attempt](const ErrorCode& ec) { self->OnTlsHandshake(ec, attempt); });
}

void OutboundPeer::ArmHandshakeDeadline(uint64_t attempt) {
  // The handshake shares the connect deadline: a listener that accepts but never
  // challenges (not a Coord member, or an older version) is given up on.
  connecting_ = true;
  connect_timer_.expires_after(ctx_->options.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), attempt](const ErrorCode& ec) {
    if (ec || self->closed() || attempt != self->attempt_ || !self->connecting_) return;
    self->attempt_timed_out_ = true;
    self->CloseSocket();
  });
}

void OutboundPeer::OnTlsHandshake(const ErrorCode& ec, uint64_t attempt) {
  if (closed() || attempt != attempt_) return;
  if (ec) {
    connecting_ = false;
    ErrorCode ignored;
    connect_timer_.cancel(ignored);
    OnConnectFailed(attempt_timed_out_ ? std::string("TLS handshake timed out")
                                       : "TLS handshake failed: " + ec.message());
    return;
  }
  const std::vector<std::string> names = stream_->PeerCertificateNames();
  if (!CertificateProvesMember(ctx_->options, names, id_)) {
    connecting_ = false;
    ErrorCode ignored;
    connect_timer_.cancel(ignored);
    OnConnectFailed("the listener's certificate is not member " + std::to_string(id_) +
                    "'s (names: " + JoinNames(names) + ")");
    return;
  }
  ReadChallenge(attempt);
}

void OutboundPeer::ReadChallenge(uint64_t attempt) {
  ArmHandshakeDeadline(attempt);
  asio::async_read(
      *stream_, asio::buffer(challenge_header_),
      [self = shared_from_this(), stream = stream_, attempt](const ErrorCode& ec, size_t) {
        if (self->closed() || attempt != self->attempt_) return;
        if (ec) {
          self->OnHandshakeFailed(ec);
          return;
        }
        Result<uint32_t> length =
            DecodeFrameHeader(self->challenge_header_.data(), kMaxHandshakeFrameBytes);
        if (!length.ok()) {
          self->OnConnectFailed("bad handshake challenge: " + length.status().ToString());
          return;
        }
        self->challenge_body_.assign(*length, 0);
        asio::async_read(*stream, asio::buffer(self->challenge_body_),
                         [self, stream, attempt](const ErrorCode& ec, size_t) {
                           if (self->closed() || attempt != self->attempt_) return;
                           if (ec) {
                             self->OnHandshakeFailed(ec);
                             return;
                           }
                           self->OnChallenge();
                         });
      });
}

void OutboundPeer::OnHandshakeFailed(const ErrorCode& ec) {
  connecting_ = false;
  ErrorCode ignored;
  connect_timer_.cancel(ignored);
  OnConnectFailed(attempt_timed_out_
                      ? std::string("no handshake challenge in time (not a Coord member of "
                                    "this version?)")
                      : "handshake: " + ec.message());
}

void OutboundPeer::OnChallenge() {
  connecting_ = false;
  ErrorCode ignored;
  connect_timer_.cancel(ignored);
  const TcpTransportOptions& options = ctx_->options;
  Result<pb::PeerFrame> challenge =
      DecodeFrameBody(challenge_body_.data(), challenge_body_.size(), options.cluster_id);
  if (!challenge.ok() || !challenge->has_challenge() || challenge->from() != id_ ||
      challenge->challenge().nonce().size() != kNonceBytes) {
    OnConnectFailed(challenge.ok() ? "the listener is not member " + std::to_string(id_) +
                                         " or sent no valid challenge"
                                   : "bad handshake challenge: " + challenge.status().ToString());
    return;
  }
  pb::PeerFrame hello;
  hello.set_from(options.self_id);
  hello.set_cluster_id(options.cluster_id);
  hello.mutable_hello()->set_to(id_);
  hello.mutable_hello()->set_proof(HelloProof(options.secret, challenge->challenge().nonce(),
                                              options.self_id, id_, options.cluster_id));
  Result<std::string> encoded = EncodeFrame(hello, kMaxHandshakeFrameBytes);
  if (!encoded.ok()) {
    OnConnectFailed(encoded.status().ToString());
    return;
  }
  const uint64_t epoch = ++epoch_;
  ctx_->counters.connects.fetch_add(1, std::memory_order_relaxed);
  ErrorCode local_ec;
  tcp::endpoint local = stream_->socket().local_endpoint(local_ec);
  spdlog::info("transport {}: connected to peer {} at {} from {}{}", options.self_id, id_,
               address_text_, local_ec ? std::string("?") : local.address().to_string(),
               failures_ > 0 ? " after " + std::to_string(failures_) + " failed attempts" : "");
  failures_ = 0;
  backoff_.Reset();
  bool start_write = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = true;
    // The hello goes first, ahead of whatever waited for the connection; a hello
    // of an earlier connection that never left answers another nonce: drop it.
    if (hello_bytes_ > 0 && !queue_.empty()) {
      queue_bytes_ -= queue_.front().size();
      queue_.pop_front();
    }
    queue_bytes_ += encoded->size();
    hello_bytes_ = encoded->size();
    queue_.push_front(std::move(*encoded));
    if (!write_scheduled_) {
      write_scheduled_ = true;
      start_write = true;
    }
  }
  WatchForClose(epoch);
  if (start_write) DoWrite();
}

void OutboundPeer::OnConnectFailed(const std::string& reason) {
  ++failures_;
  if (ShouldLogFailure(failures_)) {
    spdlog::info("transport {}: cannot connect to peer {} at {}: {} ({} consecutive failures)",
                 ctx_->options.self_id, id_, address_text_, reason, failures_);
  } else {
    spdlog::debug("transport {}: cannot connect to peer {} at {}: {}", ctx_->options.self_id,
                  id_, address_text_, reason);
  }
  CloseSocket();
  NotifyUnreachable();
  ScheduleReconnect();
}

void OutboundPeer::ScheduleReconnect() {
  if (closed()) return;
  retry_timer_.expires_after(backoff_.Next());
  retry_timer_.async_wait([self = shared_from_this()](const ErrorCode& ec) {
    if (ec || self->closed()) return;
    self->Connect();
  });
}

void OutboundPeer::WatchForClose(uint64_t epoch) {
  stream_->async_read_some(
      asio::buffer(probe_),
      [self = shared_from_this(), stream = stream_, epoch](const ErrorCode& ec, size_t) {
        if (self->closed() || epoch != self->epoch_) return;
        self->Broken(ec ? ec.message() : std::string("peer wrote on a write-only connection"));
      });
}

void OutboundPeer::Broken(const std::string& reason) {
  // Invalidate the connection's pending handlers before anything else.
  ++epoch_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = false;
    write_scheduled_ = false;
  }
  ctx_->counters.disconnects.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("transport {}: lost connection to peer {} at {}: {}", ctx_->options.self_id, id_,
               address_text_, reason);
  CloseSocket();  // an in-flight write completes with an error; see OnWrite
  NotifyUnreachable();
  ScheduleReconnect();
}

void OutboundPeer::DoWrite() {
  // A write of an earlier connection may still own inflight_; its completion
  // calls DoWrite again.
  if (write_in_flight_) return;
  const size_t batch_limit = ctx_->options.max_write_batch_bytes;
  size_t batch_bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!connected_) return;
    // The hello is the first frame queued on a connection; it is not traffic.
    inflight_hello_bytes_ = hello_bytes_;
    hello_bytes_ = 0;
    while (!queue_.empty() && (inflight_.empty() || batch_bytes < batch_limit)) {
      batch_bytes += queue_.front().size();
      queue_bytes_ -= queue_.front().size();
      inflight_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (inflight_.empty()) {
      write_scheduled_ = false;
      return;
    }
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(inflight_.size());
  for (const std::string& frame : inflight_) buffers.emplace_back(asio::buffer(frame));
  write_in_flight_ = true;
  spdlog::debug("transport {}: writing {} frames ({} bytes) to peer {}", ctx_->options.self_id,
                inflight_.size(), batch_bytes, id_);
  asio::async_write(*stream_, buffers,
                    [self = shared_from_this(), stream = stream_, epoch = epoch_](
                        const ErrorCode& ec, size_t n) { self->OnWrite(ec, n, epoch); });
}

void OutboundPeer::OnWrite(const ErrorCode& ec, size_t bytes, uint64_t epoch) {
  write_in_flight_ = false;
  const size_t hello_bytes = inflight_hello_bytes_;
  inflight_hello_bytes_ = 0;
  const uint64_t frames = inflight_.size() - (hello_bytes > 0 ? 1 : 0);
  bytes -= std::min(bytes, hello_bytes);
  inflight_.clear();
  if (ec) {
    // The frames are lost; Raft retries what matters.
    ctx_->counters.dropped.fetch_add(frames, std::memory_order_relaxed);
    if (!closed() && epoch == epoch_) {
      Broken("write failed: " + ec.message());
      return;
    }
  } else {
    ctx_->counters.frames_sent.fetch_add(frames, std::memory_order_relaxed);
    ctx_->counters.writes.fetch_add(1, std::memory_order_relaxed);
    ctx_->counters.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
  }
  // Continue on the current connection, if any (DoWrite checks); a newer
  // connection may have deferred its first write to this completion.
  DoWrite();
}

void OutboundPeer::NotifyUnreachable() {
  if (ctx_->running.load() && ctx_->handlers.on_unreachable) ctx_->handlers.on_unreachable(id_);
}

}  // namespace coord::raft::transport
