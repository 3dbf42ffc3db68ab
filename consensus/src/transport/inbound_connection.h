// InboundConnection: one accepted peer stream — the handshake, then read-only.
//
// States: TLS handshake (with peer TLS on; the other side's certificate names
// are kept), handshaking (the challenge is written; the first frame must be a valid
// PeerHello within handshake_timeout, at most kMaxHandshakeFrameBytes), then
// bound to one member (frames up to max_frame_bytes, every one from that member,
// none idle longer than idle_timeout). The rules are in tcp_transport.h,
// "Handshake and binding" and "Bounded memory".
//
// A body is read in chunks of at most kReadChunkBytes as its bytes arrive, so
// the memory a connection holds is what its peer actually sent.
//
// Any invalid frame is logged with the remote address and the reason, counted,
// and closes the connection; the peer reconnects if it is a real member.
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
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "transport/frame_codec.h"
#include "transport/peer_stream.h"
#include "transport/transport_context.h"

namespace coord::raft::transport {

inline constexpr size_t kMaxHandshakeFrameBytes = 4096;
inline constexpr size_t kReadChunkBytes = 64 * 1024;

class InboundConnection : public std::enable_shared_from_this<InboundConnection> {
 public:
  // `stream` is plain or TLS (its handshake not yet done).
  InboundConnection(std::shared_ptr<TransportContext> ctx, std::shared_ptr<PeerStream> stream,
                    uint64_t connection_id, std::string remote_address);

  const std::string& remote_address() const { return remote_address_; }
  // The member this connection is bound to; kNoNode while handshaking.
  NodeId peer() const { return peer_; }

  // Registers the connection, runs the TLS handshake if any, sends the
  // challenge and starts reading.
  void Start();
  // Closes the socket and unregisters. Idempotent.
  void Close();

 private:
  using ErrorCode = boost::system::error_code;

  void ArmDeadline(std::chrono::milliseconds after);
  void OnTlsHandshake(const ErrorCode& ec);
  void SendChallenge();
  void ReadHeader();
  void OnHeader(const ErrorCode& ec);
  void ReadBodyChunk();
  void OnBodyChunk(const ErrorCode& ec);
  void OnFrame(pb::PeerFrame frame);
  void OnHello(const pb::PeerFrame& frame);
  void Deliver(pb::PeerFrame frame);
  // Logs and counts a refused frame (decode error), then closes.
  void Refuse(const std::string& reason);
  // Logs and counts a refused handshake, then closes.
  void RefuseHandshake(const std::string& reason);
  // Logs the end of the stream (peer closed or reset), then closes.
  void Ended(const ErrorCode& ec);

  const std::shared_ptr<TransportContext> ctx_;
  const std::shared_ptr<PeerStream> stream_;
  std::vector<std::string> certificate_names_;  // of the other side, with TLS
  boost::asio::steady_timer deadline_;
  uint64_t deadline_generation_ = 0;  // a fired timer of an older arm is ignored
  const uint64_t id_;
  const std::string remote_address_;
  const std::string nonce_;
  std::string challenge_;  // the encoded challenge frame while it is written
  NodeId peer_ = kNoNode;  // bound member; fixed once set
  bool closed_ = false;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  uint32_t body_length_ = 0;
  std::vector<uint8_t> body_;
};

}  // namespace coord::raft::transport
