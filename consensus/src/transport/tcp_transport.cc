// TcpTransport: the listener, the peer table and the I/O thread.
//
// Invariants:
//   - Every socket, timer and connection handler runs on thread_, the only thread
//     that runs io_.
//   - state_ moves kNew -> kRunning -> kStopped once. Peers get Start() posted only
//     while kRunning, and Stop() posts Shutdown() after leaving kRunning, so
//     Shutdown() sees (and closes) every started peer.
//   - Stop() clears ctx_->running before Shutdown(): from then on no connection
//     calls a handler. Joining the thread then guarantees none is running.
#include "coord/consensus/tcp_transport.h"

#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "transport/frame_codec.h"
#include "transport/host_port.h"
#include "transport/inbound_connection.h"
#include "transport/outbound_peer.h"
#include "transport/peer_tls.h"
#include "transport/transport_context.h"

namespace coord::raft {

namespace asio = boost::asio;
using asio::ip::tcp;
using transport::HostPort;
using transport::InboundConnection;
using transport::OutboundPeer;
using transport::TransportContext;

namespace {

Status ValidateOptions(const TcpTransportOptions& options) {
  if (options.self_id == kNoNode) return Status::InvalidArgument("self_id must not be 0");
  if (options.max_frame_bytes == 0) return Status::InvalidArgument("max_frame_bytes must be > 0");
  if (options.max_queue_messages == 0 || options.max_queue_bytes == 0) {
    return Status::InvalidArgument("send queue limits must be > 0");
  }
  if (options.reconnect_initial.count() <= 0 ||
      options.reconnect_max < options.reconnect_initial) {
    return Status::InvalidArgument("need 0 < reconnect_initial <= reconnect_max");
  }
  if (options.connect_timeout.count() <= 0) {
    return Status::InvalidArgument("connect_timeout must be > 0");
  }
  if (options.handshake_timeout.count() <= 0 || options.idle_timeout.count() <= 0) {
    return Status::InvalidArgument("handshake_timeout and idle_timeout must be > 0");
  }
  if (options.max_pending_handshakes == 0) {
    return Status::InvalidArgument("max_pending_handshakes must be > 0");
  }
  if (options.tls.enabled() && !options.member_of_certificate_name) {
    return Status::InvalidArgument("peer TLS needs member_of_certificate_name");
  }
  return Status::Ok();
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  return transport::FormatHostPort(endpoint.address().to_string(), endpoint.port());
}

}  // namespace

class TcpTransport::Impl {
 public:
  explicit Impl(TcpTransportOptions options)
      : ctx_(std::make_shared<TransportContext>(io_, std::move(options))),
        acceptor_(io_),
        accept_retry_(io_) {}

  ~Impl() {
    Stop();
    // Stop() from a handler could not join its own thread; see Stop().
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();
      } else {
        thread_.join();
      }
    }
  }

  Status Start(Handlers handlers) {
    const TcpTransportOptions& options = ctx_->options;
    COORD_RETURN_IF_ERROR(ValidateOptions(options));
    Result<HostPort> listen = transport::ParseHostPort(options.listen_address);
    if (!listen.ok()) return listen.status();
    if (options.tls.enabled()) {
      auto tls = transport::MakePeerTlsContext(options.tls);
      if (!tls.ok()) return tls.status();
      ctx_->tls_context.store(std::move(*tls));
    }

    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kNew) return Status::Aborted("transport already started or stopped");

    boost::system::error_code ec;
    tcp::endpoint endpoint;
    asio::ip::address ip = asio::ip::make_address(listen->host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(ip, listen->port);
    } else {
      tcp::resolver resolver(io_);
      auto results = resolver.resolve(listen->host, std::to_string(listen->port), ec);
      if (ec || results.empty()) {
        return Status::InvalidArgument("cannot resolve listen host \"" + listen->host +
                                       "\": " + (ec ? ec.message() : "no address"));
      }
      endpoint = results.begin()->endpoint();
    }

    auto fail = [&](const char* what) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      return Status::IOError(std::string("cannot listen on ") + options.listen_address + ": " +
                             what + ": " + ec.message());
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("open");
    // Lets a restarted member listen again at once while old connections of the
    // previous process linger in TIME_WAIT.
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return fail("SO_REUSEADDR");
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return fail("local_endpoint");
    port_ = bound.port();
    bound_address_ = EndpointText(bound);

    if (options.bind_outgoing && !bound.address().is_unspecified()) {
      ctx_->bind_address = bound.address();
    }
    ctx_->handlers = std::move(handlers);
    ctx_->running = true;
    state_ = State::kRunning;
    spdlog::info("transport {}: listening on {}", options.self_id, bound_address_);

    work_.emplace(io_.get_executor());
    DoAccept();
    for (auto& [id, peer] : peers_) {
      asio::post(io_, [peer = peer] { peer->Start(); });
    }
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool was_running = state_ == State::kRunning;
      state_ = State::kStopped;
      if (!was_running) return;
    }
    ctx_->running = false;
    asio::post(io_, [this] { Shutdown(); });
    work_.reset();
    if (thread_.get_id() == std::this_thread::get_id()) {
      // Called from a handler: joining would deadlock. The thread ends once the
      // handler returns and Shutdown() has run; the destructor joins it.
      spdlog::warn("transport {}: Stop() called from a handler; joining later",
                    ctx_->options.self_id);
      return;
    }
    thread_.join();
    spdlog::info("transport {}: stopped", ctx_->options.self_id);
  }

  void AddPeer(NodeId id, std::string address) {
    if (id == kNoNode) {
      spdlog::error("transport {}: AddPeer: peer id 0 is invalid", ctx_->options.self_id);
      return;
    }
    Result<HostPort> parsed = transport::ParseHostPort(address);
    if (!parsed.ok()) {
      spdlog::error("transport {}: AddPeer({}): {}", ctx_->options.self_id, id,
                    parsed.status().ToString());
      return;
    }
    {
      std::lock_guard<std::mutex> inbound_lock(ctx_->inbound_mu);
      ctx_->known_peers.insert(id);
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = peers_.find(id);
    if (it != peers_.end()) {
      if (it->second->address() == transport::FormatHostPort(parsed->host, parsed->port)) return;
      spdlog::info("transport {}: peer {} moves from {} to {}", ctx_->options.self_id, id,
                   it->second->address(), address);
      ClosePeerLocked(it->second);
      peers_.erase(it);
    }
    auto peer = std::make_shared<OutboundPeer>(ctx_, id, std::move(*parsed));
    peers_.emplace(id, peer);
    if (state_ == State::kRunning) asio::post(io_, [peer] { peer->Start(); });
  }

  void RemovePeer(NodeId id) {
    {
      std::lock_guard<std::mutex> inbound_lock(ctx_->inbound_mu);
      ctx_->known_peers.erase(id);
    }
    std::lock_guard<std::mutex> lock(mu_);
    // A removed member may no longer talk to us either: close what it has open.
    if (state_ == State::kRunning) asio::post(io_, [ctx = ctx_, id] { CloseInboundOf(*ctx, id); });
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    ClosePeerLocked(it->second);
    peers_.erase(it);
  }

  void Send(pb::Message message) {
    const NodeId to = message.to();
    if (message.from() != ctx_->options.self_id) {
      // The receiver would refuse the frame and drop the whole connection.
      spdlog::error("transport {}: refusing to send a {} with from={} (not this member)",
                    ctx_->options.self_id, pb::MessageType_Name(message.type()), message.from());
      Drop();
      return;
    }
    pb::PeerFrame frame;
    *frame.mutable_raft() = std::move(message);
    Enqueue(to, std::move(frame));
  }

  void SendApp(NodeId to, std::string payload) {
    pb::PeerFrame frame;
    frame.set_app(std::move(payload));
    Enqueue(to, std::move(frame));
  }

  Status ReloadTls() {
    if (!ctx_->options.tls.enabled()) {
      return Status::InvalidArgument("peer TLS is off: nothing to reload");
    }
    auto tls = transport::MakePeerTlsContext(ctx_->options.tls);
    if (!tls.ok()) return tls.status();
    ctx_->tls_context.store(std::move(*tls));
    spdlog::info("transport {}: peer TLS certificates reloaded", ctx_->options.self_id);
    return Status::Ok();
  }

  uint16_t port() const {
    std::lock_guard<std::mutex> lock(mu_);
    return port_;
  }

  std::string listen_address() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bound_address_;
  }

  std::vector<std::string> InboundConnections() const {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
    for (const auto& [id, connection] : ctx_->inbound) out.push_back(connection->remote_address());
    return out;
  }

  Stats stats() const {
    const auto& c = ctx_->counters;
    Stats s;
    s.frames_sent = c.frames_sent.load();
    s.frames_received = c.frames_received.load();
    s.writes = c.writes.load();
    s.bytes_sent = c.bytes_sent.load();
    s.bytes_received = c.bytes_received.load();
    s.dropped = c.dropped.load();
    s.decode_errors = c.decode_errors.load();
    s.connects = c.connects.load();
    s.disconnects = c.disconnects.load();
    s.accepted = c.accepted.load();
    s.refused = c.refused.load();
    s.frames_refused = c.frames_refused.load();
    return s;
  }

 private:
  enum class State { kNew, kRunning, kStopped };

  void Run() {
    // A handler that throws is a bug in the owner; log it and keep the transport
    // alive rather than terminate the process from a background thread.
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("transport {}: handler threw: {}", ctx_->options.self_id, e.what());
      }
    }
  }

  void Drop() { ctx_->counters.dropped.fetch_add(1, std::memory_order_relaxed); }

  // Encodes on the caller's thread so the I/O thread only moves bytes.
  void Enqueue(NodeId to, pb::PeerFrame frame) {
    if (!ctx_->running.load()) {
      Drop();
      return;
    }
    frame.set_from(ctx_->options.self_id);
    frame.set_cluster_id(ctx_->options.cluster_id);
    Result<std::string> encoded = transport::EncodeFrame(frame, ctx_->options.max_frame_bytes);
    if (!encoded.ok()) {
      spdlog::error("transport {}: dropping message to peer {}: {}", ctx_->options.self_id, to,
                    encoded.status().ToString());
      Drop();
      return;
    }
    std::shared_ptr<OutboundPeer> peer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = peers_.find(to);
      if (it != peers_.end()) peer = it->second;
    }
    if (!peer) {
      spdlog::debug("transport {}: dropping message to unknown peer {}", ctx_->options.self_id, to);
      Drop();
      return;
    }
    if (!peer->Enqueue(std::move(*encoded))) {
      spdlog::debug("transport {}: send queue to peer {} full; message dropped",
                    ctx_->options.self_id, to);
    }
  }

  // Requires mu_. The peer is closed on the I/O thread; if the transport is not
  // running it is simply released (it never started any I/O).
  void ClosePeerLocked(const std::shared_ptr<OutboundPeer>& peer) {
    if (state_ == State::kRunning) asio::post(io_, [peer] { peer->Close(); });
  }

  void DoAccept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (!ctx_->running.load() || ec == asio::error::operation_aborted) return;
      if (ec) {
        // E.g. out of file descriptors: pause instead of spinning on the error.
        spdlog::warn("transport {}: accept failed: {}", ctx_->options.self_id, ec.message());
        accept_retry_.expires_after(std::chrono::milliseconds(100));
        accept_retry_.async_wait([this](const boost::system::error_code& wait_ec) {
          if (!wait_ec && ctx_->running.load()) DoAccept();
        });
        return;
      }
      OnAccepted(std::move(socket));
      DoAccept();
    });
  }

  // I/O thread. Closes every incoming connection bound to `id`.
  static void CloseInboundOf(TransportContext& ctx, NodeId id) {
    std::vector<std::shared_ptr<InboundConnection>> bound;
    {
      std::lock_guard<std::mutex> lock(ctx.inbound_mu);
      for (const auto& [cid, connection] : ctx.inbound) {
        if (connection->peer() == id) bound.push_back(connection);
      }
    }
    for (const auto& connection : bound) connection->Close();
  }

  void OnAccepted(tcp::socket socket) {
    ctx_->counters.accepted.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<InboundConnection> oldest_pending;
    size_t pending = 0;
    {
      std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
      for (const auto& [id, connection] : ctx_->inbound) {
        if (connection->peer() != kNoNode) continue;
        if (pending++ == 0) oldest_pending = connection;  // ids increase: the first is oldest
      }
    }
    if (pending >= ctx_->options.max_pending_handshakes && oldest_pending) {
      ctx_->CountRefused();
      spdlog::warn("transport {}: {} connections in their handshake (the limit); closing the "
                   "oldest, from {}",
                   ctx_->options.self_id, pending, oldest_pending->remote_address());
      oldest_pending->Close();
    }
    boost::system::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return;  // already reset by the peer
    socket.set_option(tcp::no_delay(true), ec);
    std::string remote_text = EndpointText(remote);
    spdlog::debug("transport {}: accepted connection from {}", ctx_->options.self_id,
                  remote_text);
    std::shared_ptr<asio::ssl::context> tls = ctx_->tls_context.load();
    auto stream = tls ? std::make_shared<transport::PeerStream>(std::move(socket), std::move(tls))
                      : std::make_shared<transport::PeerStream>(std::move(socket));
    auto connection = std::make_shared<InboundConnection>(ctx_, std::move(stream),
                                                          next_connection_id_++, remote_text);
    connection->Start();
  }

  // Runs on the I/O thread after `running` was cleared.
  void Shutdown() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel(ignored);
    std::map<NodeId, std::shared_ptr<OutboundPeer>> peers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      peers.swap(peers_);
    }
    for (auto& [id, peer] : peers) peer->Close();
    std::map<uint64_t, std::shared_ptr<InboundConnection>> inbound;
    {
      std::lock_guard<std::mutex> lock(ctx_->inbound_mu);
      inbound = ctx_->inbound;
    }
    for (auto& [id, connection] : inbound) connection->Close();
  }

  // Declared first: destroyed last, after everything that refers to it.
  asio::io_context io_{1};
  std::shared_ptr<TransportContext> ctx_;

  mutable std::mutex mu_;  // guards state_, peers_, port_, bound_address_
  State state_ = State::kNew;
  std::map<NodeId, std::shared_ptr<OutboundPeer>> peers_;
  uint16_t port_ = 0;
  std::string bound_address_;

  // I/O thread only (after Start).
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  uint64_t next_connection_id_ = 1;

  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

TcpTransport::TcpTransport(TcpTransportOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

TcpTransport::~TcpTransport() = default;

Status TcpTransport::Start(Handlers handlers) { return impl_->Start(std::move(handlers)); }
void TcpTransport::Stop() { impl_->Stop(); }
void TcpTransport::AddPeer(NodeId id, std::string address) {
  impl_->AddPeer(id, std::move(address));
}
void TcpTransport::RemovePeer(NodeId id) { impl_->RemovePeer(id); }
void TcpTransport::Send(pb::Message message) { impl_->Send(std::move(message)); }
void TcpTransport::SendApp(NodeId to, std::string payload) {
  impl_->SendApp(to, std::move(payload));
}
Status TcpTransport::ReloadTls() { return impl_->ReloadTls(); }
uint16_t TcpTransport::port() const { return impl_->port(); }
std::string TcpTransport::listen_address() const { return impl_->listen_address(); }
std::vector<std::string> TcpTransport::InboundConnections() const {
  return impl_->InboundConnections();
}
TcpTransport::Stats TcpTransport::stats() const { return impl_->stats(); }

}  // namespace coord::raft
