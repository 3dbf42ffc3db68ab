// State shared by the TcpTransport and its connections.
//
// Connections hold the context by shared_ptr, so a handler that is destroyed
// late (for instance with the io_context) never sees freed state.
//
// Thread-safety: `options`, `handlers` and `bind_address` are written before the
// I/O thread starts and are read-only afterwards. `running`, `tls_context` and
// the counters are atomics. The inbound registry is guarded by `inbound_mu`.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "coord/consensus/tcp_transport.h"

namespace coord::raft::transport {

class InboundConnection;

struct TransportCounters {
  std::atomic<uint64_t> frames_sent{0};
  std::atomic<uint64_t> frames_received{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> decode_errors{0};
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> frames_refused{0};
};

struct TransportContext {
  TransportContext(boost::asio::io_context& io_context, TcpTransportOptions opts)
      : io(io_context), options(std::move(opts)) {}

  // Outlives every connection's I/O (the transport joins its thread before the
  // io_context goes away); connections only use it while the thread runs.
  boost::asio::io_context& io;
  const TcpTransportOptions options;
  Transport::Handlers handlers;
  // Local address outgoing sockets bind to (port 0); unset = let the OS choose.
  std::optional<boost::asio::ip::address> bind_address;
  // The peer TLS context new connections use; null when TLS is off. Replaced
  // whole by TcpTransport::ReloadTls (connections keep the one they started with).
  std::atomic<std::shared_ptr<boost::asio::ssl::context>> tls_context;
  // True between Start and Stop. Handlers are called only while it is true.
  std::atomic<bool> running{false};
  TransportCounters counters;

  // Open incoming connections by id, so Stop can close them and
  // InboundConnections() can list them. `known_peers` are the members a
  // connection may bind to (AddPeer adds, RemovePeer removes).
  std::mutex inbound_mu;
  std::map<uint64_t, std::shared_ptr<InboundConnection>> inbound;
  std::set<NodeId> known_peers;

  // Counts a refused incoming connection.
  void CountRefused() { counters.refused.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace coord::raft::transport
