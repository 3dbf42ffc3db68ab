// TcpTransport: the real peer transport, length-delimited protobuf over TCP.
//
// Wire format: each frame is a 4-byte big-endian length N followed by N bytes of
// a serialized pb::PeerFrame (sender id, cluster id, and a body). Frames longer
// than max_frame_bytes are refused.
//
// Connections: a member keeps one outgoing connection to each peer and writes only
// on it; it accepts incoming connections from its peers and only reads from them
// (after the handshake). Outgoing connections bind their local end to the host of
// this member's own listen address (port 0), so members on 127.0.0.1/.2/.3 can be
// partitioned by address and their traffic is attributable.
//
// Handshake and binding (the peer port trusts nobody): the accepting member
// writes a PeerChallenge with a fresh nonce; the connecting member answers with a
// PeerHello naming itself (`from`) and the member it meant to reach (`to`), with
// an HMAC-SHA256 proof keyed by `secret` over the nonce and both ids. The
// accepting member binds the connection to `from` only if `to` is itself, `from`
// is a configured peer (AddPeer, not yet RemovePeer) and the proof holds;
// otherwise the connection is refused and counted (Stats::refused). A bound
// connection delivers frames from its member only: a frame claiming another
// sender, or a second handshake, is counted (Stats::frames_refused) and closes
// it. A newer bound connection from the same member replaces the older one, and
// RemovePeer closes the removed member's connections.
//
// TLS (optional, TcpTransportOptions::tls): every connection runs a TLS 1.2+
// handshake before the challenge, with certificates on both sides chaining to
// the peer CA. The connecting member checks that the accepting member's
// certificate proves the member it meant to reach; the accepting member binds a
// connection to `from` only if the connecting member's certificate proves
// `from` as well (member_of_certificate_name maps a certificate name to a member
// id). The cluster-secret proof is still required inside TLS. A failed TLS
// handshake or a certificate of another member is refused and counted like any
// failed handshake. ReloadTls() re-reads the files for new connections.
//
// Bounded memory: before the handshake a frame may hold at most 4 KiB and must
// arrive within handshake_timeout; a body is read in chunks as its bytes arrive,
// so an announced length costs nothing until the data is there; an incoming
// connection idle for idle_timeout is closed; at most max_pending_handshakes
// connections handshake at once, and a member has at most one bound connection.
//
// Threading model: the transport owns one boost::asio::io_context and one I/O
// thread, started by Start() and joined by Stop(). All socket work and all
// handler calls happen on that thread. Send/SendApp serialize the frame on the
// caller's thread and append it to the peer's bounded queue; they never block on
// the network.
//
// Failure handling: a peer that is down is reconnected with exponential back-off
// (initial 50 ms, doubling, capped at 2 s, with jitter); messages queued meanwhile
// are kept up to the queue limits and the rest are dropped and counted.
// on_unreachable(id) is called when a connection attempt fails or a connection
// breaks. An incoming frame that is too long, does not parse, carries another
// cluster id or an inconsistent sender is logged (naming the remote address and
// the reason) and its connection is closed; the transport keeps serving others.
//
// Thread-safety: every public method may be called from any thread, except that
// Stop() and the destructor must not be called from inside a handler (they join
// the I/O thread that runs the handlers).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coord/consensus/transport.h"
#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

// Files of the peer port's TLS (PEM). TLS is on when cert_file is set; then all
// three are required.
struct PeerTlsOptions {
  std::string cert_file;        // this member's certificate chain
  std::string key_file;         // its private key
  std::string trusted_ca_file;  // the CA every member's certificate chains to
  bool enabled() const { return !cert_file.empty(); }
};

struct TcpTransportOptions {
  // This member's id; stamped on every outgoing frame. Must not be kNoNode.
  NodeId self_id = kNoNode;
  // "host:port" to listen on, e.g. "127.0.0.2:7421"; IPv6 as "[::1]:7421".
  // Port 0 picks a free port (see TcpTransport::port()). Required.
  std::string listen_address;
  // Frames of another cluster are refused. 0 = do not check (and send 0).
  uint64_t cluster_id = 0;
  // The shared secret every member of the cluster is configured with (coordd:
  // the cluster token). Keys the handshake proof; a member that does not know it
  // cannot open a connection that is accepted.
  std::string secret;
  // An accepted connection must complete the handshake within this time.
  std::chrono::milliseconds handshake_timeout{5000};
  // An incoming connection that delivers no bytes for this long is closed (its
  // member reconnects when it has something to send).
  std::chrono::milliseconds idle_timeout{60000};
  // Most accepted connections still in their handshake. When a new one would
  // exceed it, the oldest handshaking connection is closed (and counted as
  // refused): a stream of junk connections cannot lock real members out, whose
  // handshakes complete in a round trip. Bound connections are bounded anyway,
  // one per configured member.
  size_t max_pending_handshakes = 16;
  // Largest frame body accepted or sent (default 64 MiB). A larger incoming
  // length prefix closes the connection; a larger outgoing message is dropped.
  size_t max_frame_bytes = size_t{64} << 20;
  // Per-peer send queue limits (frames waiting, not yet handed to the socket).
  // A message that would exceed either limit is dropped and counted.
  size_t max_queue_messages = 4096;
  size_t max_queue_bytes = size_t{256} << 20;
  // One gather write takes queued frames until it holds at least this many bytes
  // (always at least one frame).
  size_t max_write_batch_bytes = size_t{4} << 20;
  // Reconnect back-off: first delay, doubling up to the maximum, each delay
  // jittered to a uniform value in [delay/2, delay].
  std::chrono::milliseconds reconnect_initial{50};
  std::chrono::milliseconds reconnect_max{2000};
  // Seed of the jitter RNG; 0 derives one from self_id.
  uint64_t reconnect_seed = 0;
  // A connection attempt that has not completed after this long fails.
  std::chrono::milliseconds connect_timeout{1000};
  // Bind outgoing connections to the listen host (skipped when that host is the
  // unspecified address 0.0.0.0 / ::).
  bool bind_outgoing = true;
  // Peer TLS (see "TLS" above). Off when tls.cert_file is empty.
  PeerTlsOptions tls;
  // With TLS: the member a certificate name stands for, kNoNode for none
  // (coordd: the id of the member of that name). Required when TLS is on;
  // called on the I/O thread.
  std::function<NodeId(const std::string& certificate_name)> member_of_certificate_name;
};

class TcpTransport : public Transport {
 public:
  // Counters since construction; monotonic, read without locks.
  struct Stats {
    uint64_t frames_sent = 0;      // frames fully written to a socket
    uint64_t frames_received = 0;  // valid frames delivered to a handler
    uint64_t writes = 0;           // gather writes completed (each carries >= 1 frame)
    uint64_t bytes_sent = 0;       // including the 4-byte length prefixes
    uint64_t bytes_received = 0;   // including the 4-byte length prefixes
    uint64_t dropped = 0;          // queue full, unknown peer, too large, lost in a
                                   // broken write, removed peer, or not running
    uint64_t decode_errors = 0;    // incoming frames refused (connection closed)
    uint64_t connects = 0;         // outgoing connections established
    uint64_t disconnects = 0;      // established outgoing connections lost
    uint64_t accepted = 0;         // incoming connections accepted
    uint64_t refused = 0;          // incoming connections refused: failed or timed-out
                                   // handshake, unknown member, over the cap
    uint64_t frames_refused = 0;   // frames on a bound connection claiming another
                                   // sender (or a second handshake)
  };

  explicit TcpTransport(TcpTransportOptions options);
  // Stops the transport if it is running (see Stop).
  ~TcpTransport() override;

  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Validates the options, binds the listening socket and starts the I/O thread.
  // Errors: InvalidArgument (bad options or address), IOError (bind/listen
  // failed, e.g. address in use), Aborted (called twice, or after Stop).
  Status Start(Handlers handlers) override;

  // Closes the listener and every connection, cancels timers and joins the I/O
  // thread. When it returns no handler is running and none will run again.
  // Idempotent; queued messages are discarded.
  void Stop() override;

  // Peers may be added before Start; connecting begins once running. Changing
  // the address of a known peer closes its connection and reconnects.
  void AddPeer(NodeId id, std::string address) override;
  // Closes the connection to `id` and drops its queued messages.
  void RemovePeer(NodeId id) override;

  void Send(pb::Message message) override;
  void SendApp(NodeId to, std::string payload) override;

  // Re-reads the TLS files; connections made afterwards use them, open ones
  // keep theirs. Errors: kInvalidArgument (TLS is off, or a file cannot be
  // used; the previous certificates stay in use).
  Status ReloadTls();

  // The port actually bound (useful with port 0); 0 before Start.
  uint16_t port() const;
  // "host:port" actually bound; empty before Start.
  std::string listen_address() const;
  // Remote "host:port" of each currently open incoming connection.
  std::vector<std::string> InboundConnections() const;

  Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coord::raft
