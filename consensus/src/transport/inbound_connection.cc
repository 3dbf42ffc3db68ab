#include "transport/inbound_connection.h"

#include <algorithm>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "transport/peer_auth.h"
#include "transport/peer_tls.h"

namespace coord::raft::transport {

namespace asio = boost::asio;

namespace {

// A connection keeps at most this much buffer between frames, so one large
// snapshot chunk does not pin its size for the connection's life.
constexpr size_t kRetainedBufferBytes = size_t{1} << 20;

}  // namespace

InboundConnection::InboundConnection(std::shared_ptr<TransportContext> ctx,
                                     std::shared_ptr<PeerStream> stream, uint64_t connection_id,
                                     std::string remote_address)
    : ctx_(std::move(ctx)),
      stream_(std::move(stream)),
      deadline_(ctx_->io),
      id_(connection_id),
      remote_address_(std::move(remote_address)),
      nonce_(MakeNonce()) {}

void InboundConnection::Start() {
  {
    std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
    ctx_->inbound.emplace(id_, shared_from_this());
  }
  // The whole handshake (TLS included) must fit in one deadline, however slowly
  // it trickles in.
  ArmDeadline(ctx_->options.handshake_timeout);
  if (!stream_->tls()) {
    SendChallenge();
    return;
  }
  stream_->async_handshake(asio::ssl::stream_base::server,
                           [self = shared_from_this()](const ErrorCode& ec) {
                             self->OnTlsHandshake(ec);
                           });
}

void InboundConnection::OnTlsHandshake(const ErrorCode& ec) {
  if (closed_) return;
  if (ec) {
    RefuseHandshake("TLS handshake failed: " + ec.message());
    return;
  }
  certificate_names_ = stream_->PeerCertificateNames();
  SendChallenge();
}

void InboundConnection::SendChallenge() {
  pb::PeerFrame challenge;
  challenge.set_from(ctx_->options.self_id);
  challenge.set_cluster_id(ctx_->options.cluster_id);
  challenge.mutable_challenge()->set_nonce(nonce_);
  Result<std::string> encoded = EncodeFrame(challenge, kMaxHandshakeFrameBytes);
  if (!encoded.ok()) {
    RefuseHandshake(encoded.status().ToString());
    return;
  }
  challenge_ = std::move(*encoded);
  asio::async_write(*stream_, asio::buffer(challenge_),
                    [self = shared_from_this()](const ErrorCode& ec, size_t) {
                      self->challenge_.clear();
                      if (ec && !self->closed_) self->Ended(ec);
                    });
  ReadHeader();
}

void InboundConnection::Close() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ignored;
  deadline_.cancel(ignored);
  stream_->socket().close(ignored);
  std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
  ctx_->inbound.erase(id_);
}

void InboundConnection::ArmDeadline(std::chrono::milliseconds after) {
  const uint64_t generation = ++deadline_generation_;
  deadline_.expires_after(after);
  deadline_.async_wait([self = shared_from_this(), generation](const ErrorCode& ec) {
    if (ec || self->closed_ || generation != self->deadline_generation_) return;
    if (self->peer_ == kNoNode) {
      self->RefuseHandshake("no handshake within " +
                            std::to_string(self->ctx_->options.handshake_timeout.count()) + " ms");
      return;
    }
    spdlog::info("transport {}: closing idle incoming connection from peer {} at {}",
                 self->ctx_->options.self_id, self->peer_, self->remote_address_);
    self->Close();
  });
}

void InboundConnection::ReadHeader() {
  if (peer_ != kNoNode) ArmDeadline(ctx_->options.idle_timeout);
  asio::async_read(*stream_, asio::buffer(header_),
                   [self = shared_from_this()](const ErrorCode& ec, size_t) {
                     self->OnHeader(ec);
                   });
}

void InboundConnection::OnHeader(const ErrorCode& ec) {
  if (closed_) return;
  if (ec) {
    Ended(ec);
    return;
  }
  const size_t limit = peer_ == kNoNode ? kMaxHandshakeFrameBytes : ctx_->options.max_frame_bytes;
  Result<uint32_t> length = DecodeFrameHeader(header_.data(), limit);
  if (!length.ok()) {
    Refuse(length.status().ToString() + (peer_ == kNoNode ? " (before the handshake)" : ""));
    return;
  }
  body_length_ = *length;
  if (body_.capacity() > kRetainedBufferBytes) std::vector<uint8_t>().swap(body_);
  body_.clear();
  ReadBodyChunk();
}

void InboundConnection::ReadBodyChunk() {
  // Grow by what the next read can fill, never by the announced length at once.
  const size_t have = body_.size();
  const size_t chunk = std::min<size_t>(kReadChunkBytes, body_length_ - have);
  body_.resize(have + chunk);
  if (peer_ != kNoNode) ArmDeadline(ctx_->options.idle_timeout);
  asio::async_read(*stream_, asio::buffer(body_.data() + have, chunk),
                   [self = shared_from_this()](const ErrorCode& ec, size_t) {
                     self->OnBodyChunk(ec);
                   });
}

void InboundConnection::OnBodyChunk(const ErrorCode& ec) {
  if (closed_) return;
  if (ec) {
    Ended(ec);
    return;
  }
  if (body_.size() < body_length_) {
    ReadBodyChunk();
    return;
  }
  Result<pb::PeerFrame> frame =
      DecodeFrameBody(body_.data(), body_.size(), ctx_->options.cluster_id);
  if (!frame.ok()) {
    Refuse(frame.status().ToString());
    return;
  }
  // Handshake frames are not traffic: the counters cover what is delivered.
  if (peer_ != kNoNode) {
    ctx_->counters.bytes_received.fetch_add(kFrameHeaderBytes + body_.size(),
                                            std::memory_order_relaxed);
  }
  OnFrame(std::move(*frame));
  if (!closed_) ReadHeader();
}

void InboundConnection::OnFrame(pb::PeerFrame frame) {
  if (peer_ == kNoNode) {
    OnHello(frame);
    return;
  }
  if (frame.from() != peer_ || frame.has_hello() || frame.has_challenge()) {
    ctx_->counters.frames_refused.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("transport {}: closing the connection of peer {} at {}: a frame {}",
                  ctx_->options.self_id, peer_, remote_address_,
                  frame.from() != peer_ ? "claims sender " + std::to_string(frame.from())
                                        : std::string("repeats the handshake"));
    Close();
    return;
  }
  ctx_->counters.frames_received.fetch_add(1, std::memory_order_relaxed);
  Deliver(std::move(frame));
}

void InboundConnection::OnHello(const pb::PeerFrame& frame) {
  if (!frame.has_hello()) {
    RefuseHandshake("the first frame is not a hello");
    return;
  }
  const NodeId from = frame.from();
  const NodeId self = ctx_->options.self_id;
  if (frame.hello().to() != self) {
    RefuseHandshake("hello meant for member " + std::to_string(frame.hello().to()));
    return;
  }
  if (from == self) {
    RefuseHandshake("hello claims to come from this member");
    return;
  }
  if (!ProofMatches(ctx_->options.secret, nonce_, from, self, ctx_->options.cluster_id,
                    frame.hello().proof())) {
    RefuseHandshake("hello from " + std::to_string(from) +
                    " has a wrong proof (another cluster secret?)");
    return;
  }
  if (stream_->tls() && !CertificateProvesMember(ctx_->options, certificate_names_, from)) {
    RefuseHandshake("hello from member " + std::to_string(from) +
                    " comes with a certificate of another member (names: " +
                    JoinNames(certificate_names_) + ")");
    return;
  }
  bool known = false;
  std::vector<std::shared_ptr<InboundConnection>> replaced;
  {
    std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
    known = ctx_->known_peers.count(from) != 0;
    if (known) {
      peer_ = from;
      for (const auto& [id, other] : ctx_->inbound) {
        if (id != id_ && other->peer_ == from) replaced.push_back(other);
      }
    }
  }
  if (!known) {
    RefuseHandshake("member " + std::to_string(from) + " is not in the configuration");
    return;
  }
  for (const auto& old : replaced) old->Close();  // one bound connection per member
  spdlog::info("transport {}: incoming stream from peer {} at {}", self, peer_, remote_address_);
}

void InboundConnection::Deliver(pb::PeerFrame frame) {
  // Stop clears `running` before closing connections; a frame read in between
  // is discarded so no handler runs once Stop has begun.
  if (!ctx_->running.load()) {
    Close();
    return;
  }
  const auto& handlers = ctx_->handlers;
  if (frame.has_raft()) {
    spdlog::debug("transport {}: received {} from peer {} (term {}, index {}, {} entries)",
                  ctx_->options.self_id, pb::MessageType_Name(frame.raft().type()), peer_,
                  frame.raft().term(), frame.raft().index(), frame.raft().entries_size());
    if (handlers.on_message) handlers.on_message(std::move(*frame.mutable_raft()));
  } else if (frame.has_app()) {
    spdlog::debug("transport {}: received app payload of {} bytes from peer {}",
                  ctx_->options.self_id, frame.app().size(), peer_);
    if (handlers.on_app) handlers.on_app(frame.from(), std::move(*frame.mutable_app()));
  }
}

void InboundConnection::Refuse(const std::string& reason) {
  ctx_->counters.decode_errors.fetch_add(1, std::memory_order_relaxed);
  if (peer_ == kNoNode) ctx_->CountRefused();
  spdlog::error("transport {}: closing incoming connection from {}: {}", ctx_->options.self_id,
                remote_address_, reason);
  Close();
}

void InboundConnection::RefuseHandshake(const std::string& reason) {
  ctx_->CountRefused();
  spdlog::warn("transport {}: refusing incoming connection from {}: {}", ctx_->options.self_id,
               remote_address_, reason);
  Close();
}

void InboundConnection::Ended(const ErrorCode& ec) {
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated) {
    spdlog::info("transport {}: incoming stream from peer {} at {} closed", ctx_->options.self_id,
                 peer_, remote_address_);
  } else if (ec != asio::error::operation_aborted) {
    spdlog::info("transport {}: incoming stream from peer {} at {} failed: {}",
                 ctx_->options.self_id, peer_, remote_address_, ec.message());
  }
  if (peer_ == kNoNode && !closed_) ctx_->CountRefused();  // gave up before the handshake
  Close();
}

}  // namespace coord::raft::transport
