#include "transport/inbound_connection.h"

#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/read.hpp>
#include <spdlog/spdlog.h>

namespace coord::raft::transport {

namespace asio = boost::asio;

namespace {

// A connection keeps at most this much buffer between frames, so one large
// snapshot chunk does not pin its size for the connection's life.
constexpr size_t kRetainedBufferBytes = size_t{1} << 20;

}  // namespace

InboundConnection::InboundConnection(std::shared_ptr<TransportContext> ctx,
                                     asio::ip::tcp::socket socket, uint64_t connection_id,
                                     std::string remote_address)
    : ctx_(std::move(ctx)),
      socket_(std::move(socket)),
      id_(connection_id),
      remote_address_(std::move(remote_address)) {}

void InboundConnection::Start() {
  {
    std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
    ctx_->inbound.emplace(id_, shared_from_this());
  }
  ReadHeader();
}

void InboundConnection::Close() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ignored;
  socket_.close(ignored);
  std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
  ctx_->inbound.erase(id_);
}

void InboundConnection::ReadHeader() {
  asio::async_read(socket_, asio::buffer(header_),
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
  Result<uint32_t> length = DecodeFrameHeader(header_.data(), ctx_->options.max_frame_bytes);
  if (!length.ok()) {
    Refuse(length.status().ToString());
    return;
  }
  if (body_.capacity() > kRetainedBufferBytes && *length <= kRetainedBufferBytes) {
    std::vector<uint8_t>().swap(body_);
  }
  body_.resize(*length);
  asio::async_read(socket_, asio::buffer(body_),
                   [self = shared_from_this()](const ErrorCode& ec, size_t) {
                     self->OnBody(ec);
                   });
}

void InboundConnection::OnBody(const ErrorCode& ec) {
  if (closed_) return;
  if (ec) {
    Ended(ec);
    return;
  }
  Result<pb::PeerFrame> frame =
      DecodeFrameBody(body_.data(), body_.size(), ctx_->options.cluster_id);
  if (!frame.ok()) {
    Refuse(frame.status().ToString());
    return;
  }
  if (peer_ == kNoNode) {
    peer_ = frame->from();
    spdlog::info("transport {}: incoming stream from peer {} at {}", ctx_->options.self_id,
                 peer_, remote_address_);
  } else if (frame->from() != peer_) {
    Refuse("sender changed from " + std::to_string(peer_) + " to " +
           std::to_string(frame->from()));
    return;
  }
  ctx_->counters.frames_received.fetch_add(1, std::memory_order_relaxed);
  ctx_->counters.bytes_received.fetch_add(kFrameHeaderBytes + body_.size(),
                                          std::memory_order_relaxed);
  Deliver(std::move(*frame));
  if (!closed_) ReadHeader();
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
  } else {
    spdlog::debug("transport {}: received app payload of {} bytes from peer {}",
                  ctx_->options.self_id, frame.app().size(), peer_);
    if (handlers.on_app) handlers.on_app(frame.from(), std::move(*frame.mutable_app()));
  }
}

void InboundConnection::Refuse(const std::string& reason) {
  ctx_->counters.decode_errors.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("transport {}: closing incoming connection from {}: {}", ctx_->options.self_id,
                remote_address_, reason);
  Close();
}

void InboundConnection::Ended(const ErrorCode& ec) {
  if (ec == asio::error::eof || ec == asio::error::connection_reset) {
    spdlog::info("transport {}: incoming stream from peer {} at {} closed", ctx_->options.self_id,
                 peer_, remote_address_);
  } else if (ec != asio::error::operation_aborted) {
    spdlog::info("transport {}: incoming stream from peer {} at {} failed: {}",
                 ctx_->options.self_id, peer_, remote_address_, ec.message());
  }
  Close();
}

}  // namespace coord::raft::transport
