// Server: wires the data directory, the Raft node, the state adapter, the
// service and the HTTP/WebSocket listener together (see server.h).
#include "coord/server/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "coord/consensus/leveldb_storage.h"
#include "coord/consensus/node.h"
#include "coord/consensus/tcp_transport.h"
#include "server/descriptor_budget.h"
#include "server/http_listener.h"
#include "server/tls_context.h"
#include "server/identity.h"
#include "server/lock_wait_tracker.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/session_tracker.h"
#include "server/state_adapter.h"
#include "server/tpc_timer_tracker.h"
#include "server/watch_hub.h"

namespace coord::server {

namespace {
// LevelDB's files outside its table cache (log, manifest, lock, info log) and
// snapshot files being written or read.
constexpr uint64_t kStorageNonTableDescriptors = 16;
// Members that may join after start, for the peer descriptor reserve.
constexpr uint64_t kMembersAddedLater = 8;
}  // namespace

class Server::Impl {
 public:
  explicit Impl(ServerOptions options)
      : options_(std::move(options)),
        hub_(WatchHubOptions{options_.limits.max_watches_per_connection,
                             options_.limits.max_pending_events_per_watch}),
        adapter_(options_.state, &hub_, &tracker_) {
    adapter_.set_lock_wait_tracker(&lock_tracker_);
    adapter_.set_tpc_timer_tracker(&tpc_tracker_);
  }

  Status Open();
  Status Start();
  void Stop();

  ServerOptions options_;
  uint64_t member_id_ = 0;
  std::unique_ptr<DirLock> lock_;
  // Descriptors kept out of the client connection cap, from the storage and
  // transport options Open() used (see descriptor_budget.h).
  uint64_t storage_descriptors_ = 0;
  uint64_t peer_descriptors_ = 0;
  WatchHub hub_;
  SessionTracker tracker_;
  LockWaitTracker lock_tracker_;
  TpcTimerTracker tpc_tracker_;
  StateAdapter adapter_;
  Metrics metrics_;
  boost::asio::io_context io_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<raft::Node> node_;
  // The node's transport (owned by node_), for ReloadTls.
  raft::TcpTransport* peer_transport_ = nullptr;
  std::unique_ptr<NodeRaftHost> raft_host_;  // the service's view of node_
  std::shared_ptr<HttpListener> listener_;
  std::vector<std::thread> threads_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  bool started_ = false;
  bool stopped_ = false;
};

Status Server::Impl::Open() {
  ServerOptions& o = options_;
  if (o.name.empty()) return Status::InvalidArgument("member name must not be empty");
  if (o.tick_ms <= 0 || o.election_ticks < 2) {
    return Status::InvalidArgument("tick_ms must be > 0 and election_ticks >= 2");
  }
  if (o.initial_cluster.empty()) o.initial_cluster.push_back({o.name, o.listen_peer});
  bool self_listed = false;
  for (const ClusterMember& m : o.initial_cluster) self_listed |= m.name == o.name;
  if (!self_listed) {
    return Status::InvalidArgument("initial cluster does not contain member '" + o.name + "'");
  }
  member_id_ = MemberIdFromName(o.name);
  const uint64_t cluster_id = ClusterIdFromToken(o.cluster_token);
  if (o.cluster_token == ServerOptions().cluster_token &&
      o.listen_peer.rfind("127.", 0) != 0 && o.listen_peer.rfind("[::1]", 0) != 0 &&
      o.listen_peer.rfind("localhost:", 0) != 0) {
    spdlog::warn(
        "coordd: the peer port {} is not on loopback and --cluster-token is the default: anyone "
        "who can reach it can join the ensemble's Raft traffic; set a secret token "
        "(docs/operations.md, \"Securing the peer port\")",
        o.listen_peer);
  }

  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec)
    return Status::IOError("cannot create data directory " + o.data_dir + ": " + ec.message());
  auto lock = DirLock::Acquire(o.data_dir);
  if (!lock.ok()) return lock.status();
  lock_ = std::move(*lock);
  COORD_RETURN_IF_ERROR(
      CheckOrWriteIdentity(o.data_dir, MemberIdentity{cluster_id, o.name, member_id_}));

  raft::LevelDbStorageOptions storage_options;
  storage_options.dir = (std::filesystem::path(o.data_dir) / "raft").string();
  auto storage = raft::LevelDbStorage::Open(storage_options);
  if (!storage.ok()) return storage.status();
  storage_descriptors_ =
      static_cast<uint64_t>(storage_options.max_open_files) + kStorageNonTableDescriptors;

  raft::TcpTransportOptions transport_options;
  transport_options.self_id = member_id_;
  transport_options.listen_address = o.listen_peer;
  transport_options.cluster_id = cluster_id;
  // The token is the secret the peer handshake proves knowledge of.
  transport_options.secret = o.cluster_token;
  transport_options.tls = {o.peer_tls.cert_file, o.peer_tls.key_file, o.peer_tls.trusted_ca_file};
  // A certificate proves the member whose name it carries (ids derive from names).
  transport_options.member_of_certificate_name = [](const std::string& name) {
    return MemberIdFromName(name);
  };
  auto transport = std::make_unique<raft::TcpTransport>(transport_options);
  // One inbound and one outbound connection per member, room for members added
  // later, and the handshakes in progress.
  peer_descriptors_ = transport_options.max_pending_handshakes +
                      2 * (o.initial_cluster.size() + kMembersAddedLater);
  raft::TcpTransport* peer_transport = transport.get();  // owned by the node, which outlives use
  peer_transport_ = peer_transport;

  ServiceOptions service_options;
  service_options.name = o.name;
  service_options.member_id = member_id_;
  service_options.peer_address = o.listen_peer;
  service_options.client_address = o.listen_client;
  service_options.tick = std::chrono::milliseconds(o.tick_ms);
  service_options.election_timeout = std::chrono::milliseconds(o.tick_ms * o.election_ticks);
  service_options.default_timeout = std::chrono::milliseconds(o.default_timeout_ms);
  service_options.max_inflight_per_connection = o.limits.max_inflight_per_connection;
  service_options.max_response_bytes = o.limits.max_response_bytes;
  service_options.max_sessions_per_connection = o.limits.max_sessions_per_connection;
  service_options.auth_token_ttl = std::chrono::seconds(o.auth_token_ttl_s);
  service_ =
      std::make_unique<Service>(service_options, io_, &adapter_, &hub_, &tracker_, &metrics_);
  service_->set_lock_wait_tracker(&lock_tracker_);
  service_->set_tpc_timer_tracker(&tpc_tracker_);
  service_->set_peer_stats([peer_transport] { return peer_transport->stats(); });
  service_->ListenToAdapter();

  raft::NodeOptions node_options;
  node_options.raft.id = member_id_;
  node_options.raft.election_tick = o.election_ticks;
  node_options.raft.heartbeat_tick = 1;
  node_options.raft.seed = member_id_;
  for (const ClusterMember& m : o.initial_cluster) {
    const uint64_t id = MemberIdFromName(m.name);
    if (!o.join_existing) node_options.raft.peers.push_back(id);
    node_options.peer_addresses[id] = m.peer_address;
    service_->AddMember(id, MemberInfo{m.name, m.peer_address, ""});
  }
  node_options.tick_interval = std::chrono::milliseconds(o.tick_ms);
  node_options.default_timeout = std::chrono::milliseconds(o.default_timeout_ms);
  node_options.snapshot_threshold = o.snapshot_threshold;
  node_options.sync_commit_updates = o.sync_commit_updates;
  node_options.snapshot_keep_entries = std::min<uint64_t>(1000, o.snapshot_threshold);
  node_options.on_app = [svc = service_.get()](raft::NodeId from, std::string payload) {
    svc->OnPeerPayload(from, std::move(payload));
  };
  auto node = raft::Node::Create(std::move(node_options), std::move(*storage), std::move(transport),
                                 &adapter_);
  if (!node.ok()) return node.status();
  node_ = std::move(*node);
  raft_host_ = std::make_unique<NodeRaftHost>(node_.get());
  service_->set_raft_host(raft_host_.get());
  return Status::Ok();
}

Status Server::Impl::Start() {
  if (started_) return Status::InvalidArgument("server already started");
  started_ = true;
  // Client sockets must never take the descriptors storage and peers need.
  auto budget = ReserveDescriptors(options_.limits.max_connections, storage_descriptors_,
                                   peer_descriptors_);
  if (!budget.ok()) return budget.status();
  if (budget->client_connections < options_.limits.max_connections) {
    spdlog::warn(
        "coordd: client connections capped at {} (not --max-connections {}): the descriptor "
        "limit is {} and {} are kept for storage and peers; raise `ulimit -n` to allow more",
        budget->client_connections, options_.limits.max_connections, budget->limit,
        budget->reserved);
    options_.limits.max_connections = budget->client_connections;
  }
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (options_.client_tls.enabled()) {
    auto made = MakeServerTlsContext(options_.client_tls);
    if (!made.ok()) return made.status();
    tls = std::move(*made);
  }
  listener_ =
      std::make_shared<HttpListener>(io_, service_.get(), &metrics_, options_.limits, tls);
  COORD_RETURN_IF_ERROR(listener_->Listen(options_.listen_client));
  service_->set_client_address(listener_->address());
  COORD_RETURN_IF_ERROR(node_->Start());
  service_->Start();
  listener_->Run();
  work_.emplace(io_.get_executor());
  for (int i = 0; i < 2; ++i) {
    threads_.emplace_back([this] {
      // A handler's exception is a bug, but it must not end the member.
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("coordd: a client-port handler threw: {}", e.what());
        }
      }
    });
  }
  spdlog::info("coordd: member '{}' (id {}) serving clients on {}, peers on {}", options_.name,
               member_id_, listener_->address(), options_.listen_peer);
  return Status::Ok();
}

void Server::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (listener_) listener_->Stop();
  if (service_) service_->Stop();
  work_.reset();
  io_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // After the API: pending proposals complete (kAborted) into a stopped io_context.
  if (node_) node_->Stop();
  spdlog::info("coordd: member '{}' stopped", options_.name);
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_) impl_->Stop();
}

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  COORD_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Start() { return impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
Status Server::ReloadTls() {
  const ServerOptions& o = impl_->options_;
  if (!o.client_tls.enabled() && !o.peer_tls.enabled()) {
    return Status::InvalidArgument("TLS is off (no --cert-file, no --peer-cert-file): nothing "
                                   "to reload");
  }
  if (!impl_->listener_) return Status::InvalidArgument("not started");
  // Both sets are read before either is replaced: a bad file changes nothing.
  std::shared_ptr<boost::asio::ssl::context> client_context;
  if (o.client_tls.enabled()) {
    auto made = MakeServerTlsContext(o.client_tls);
    if (!made.ok()) return made.status();
    client_context = std::move(*made);
  }
  if (o.peer_tls.enabled()) COORD_RETURN_IF_ERROR(impl_->peer_transport_->ReloadTls());
  if (client_context) impl_->listener_->SetTlsContext(std::move(client_context));
  return Status::Ok();
}

std::string Server::client_address() const {
  return impl_->listener_ ? impl_->listener_->address() : "";
}
uint64_t Server::member_id() const { return impl_->member_id_; }

}  // namespace coord::server
