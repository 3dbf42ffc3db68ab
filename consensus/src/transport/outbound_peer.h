// OutboundPeer: the one outgoing, write-only connection to a peer, with its
// bounded send queue and reconnect loop.
//
// Lifecycle: created by the transport; Start() begins connecting; once connected
// (and, with peer TLS, once the TLS handshake proved the listener is member
// `id`) it reads the peer's challenge and queues its hello first (tcp_transport.h,
// "Handshake and binding"); on failure or a broken connection it waits
// (Backoff) and connects again until Close().
// The address is fixed for the object's life: a new address means a new peer.
//
// Writes: single writer. Enqueue appends to the queue and, when connected and no
// write is scheduled, posts one DoWrite to the I/O thread. DoWrite moves queued
// frames into one gather write; its completion handler continues while frames
// remain. The remote never writes on this connection, so a pending one-byte read
// doubles as a detector of the remote closing it.
//
// Each connection attempt gets a new PeerStream; every pending handler holds
// the stream it was started on (see peer_stream.h, "Lifetime").
//
// Thread-safety: Enqueue may be called from any thread; every other method runs
// on the transport's I/O thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "transport/backoff.h"
#include "transport/host_port.h"
#include "transport/peer_stream.h"
#include "transport/transport_context.h"

namespace coord::raft::transport {

class OutboundPeer : public std::enable_shared_from_this<OutboundPeer> {
 public:
  OutboundPeer(std::shared_ptr<TransportContext> ctx, NodeId id, HostPort address);

  NodeId id() const { return id_; }
  const std::string& address() const { return address_text_; }

  // Any thread. Queues an encoded frame (length prefix included). Returns false,
  // and counts a drop, when the peer is closed or a queue limit would be exceeded.
  bool Enqueue(std::string frame);

  // I/O thread. Begins connecting. No effect after Close().
  void Start();
  // I/O thread. Final: drops queued frames, cancels timers, closes the socket.
  void Close();

 private:
  using ErrorCode = boost::system::error_code;

  void Connect();
  void ConnectTo(const boost::asio::ip::tcp::endpoint& endpoint);
  void OnConnect(const ErrorCode& ec, uint64_t attempt);
  void ArmHandshakeDeadline(uint64_t attempt);
  void OnTlsHandshake(const ErrorCode& ec, uint64_t attempt);
  void CloseSocket();
  void ReadChallenge(uint64_t attempt);
  void OnChallenge();
  void OnHandshakeFailed(const ErrorCode& ec);
  void OnConnectFailed(const std::string& reason);
  void ScheduleReconnect();
  void WatchForClose(uint64_t epoch);
  void Broken(const std::string& reason);
  void DoWrite();
  void OnWrite(const ErrorCode& ec, size_t bytes, uint64_t epoch);
  void NotifyUnreachable();
  bool closed() const;

  const std::shared_ptr<TransportContext> ctx_;
  const NodeId id_;
  const HostPort host_port_;
  const std::string address_text_;

  // Guarded by mu_: shared with Enqueue callers.
  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  size_t queue_bytes_ = 0;
  bool connected_ = false;
  // A DoWrite is posted or a write is in flight on the current connection.
  bool write_scheduled_ = false;
  bool closed_ = false;
  size_t hello_bytes_ = 0;  // the hello is at the front of queue_ (its size)

  // I/O thread only.
  std::shared_ptr<PeerStream> stream_;  // of the current attempt; null before the first
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer retry_timer_;
  Backoff backoff_;
  bool started_ = false;
  uint64_t attempt_ = 0;    // numbers connection attempts, to spot stale handlers
  bool connecting_ = false;  // an async_connect is pending (the timeout may fire)
  bool attempt_timed_out_ = false;
  uint64_t epoch_ = 0;      // numbers established connections, ditto
  uint64_t failures_ = 0;   // consecutive failed attempts, for rate-limited logs
  bool write_in_flight_ = false;
  std::vector<std::string> inflight_;  // frames owned by the current async_write
  size_t inflight_hello_bytes_ = 0;    // inflight_ starts with the hello (its size)
  std::array<uint8_t, 1> probe_{};     // target of the close-detecting read
  std::array<uint8_t, 4> challenge_header_{};
  std::vector<uint8_t> challenge_body_;
};

}  // namespace coord::raft::transport
