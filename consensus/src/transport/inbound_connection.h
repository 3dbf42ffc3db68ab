// InboundConnection: one accepted, read-only peer stream.
//
// Reads frames (length prefix, then body) one at a time, validates each with
// DecodeFrameBody and delivers it to the transport's handlers. Every frame on a
// connection must come from the same sender. Any invalid frame is logged with the
// remote address and the reason, counted as a decode error, and closes the
// connection; the peer reconnects if it is a real member.
//
// Registers itself in TransportContext::inbound on Start and removes itself when
// it closes.
//
// Thread-safety: every method runs on the transport's I/O thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "transport/frame_codec.h"
#include "transport/transport_context.h"

namespace coord::raft::transport {

class InboundConnection : public std::enable_shared_from_this<InboundConnection> {
 public:
  InboundConnection(std::shared_ptr<TransportContext> ctx, boost::asio::ip::tcp::socket socket,
                    uint64_t connection_id, std::string remote_address);

  const std::string& remote_address() const { return remote_address_; }

  // Registers the connection and starts reading.
  void Start();
  // Closes the socket and unregisters. Idempotent.
  void Close();

 private:
  using ErrorCode = boost::system::error_code;

  void ReadHeader();
  void OnHeader(const ErrorCode& ec);
  void OnBody(const ErrorCode& ec);
  void Deliver(pb::PeerFrame frame);
  // Logs and counts a refused frame, then closes.
  void Refuse(const std::string& reason);
  // Logs the end of the stream (peer closed or reset), then closes.
  void Ended(const ErrorCode& ec);

  const std::shared_ptr<TransportContext> ctx_;
  boost::asio::ip::tcp::socket socket_;
  const uint64_t id_;
  const std::string remote_address_;
  NodeId peer_ = kNoNode;  // sender of the first frame; fixed for the connection
  bool closed_ = false;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  std::vector<uint8_t> body_;
};

}  // namespace coord::raft::transport
