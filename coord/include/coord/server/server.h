// Server: one Coord member as a service — the Raft node, the replicated coordination
// state machine, and the client API over HTTP/WebSocket (Boost.Beast).
//
// Usage (what coordd does):
//   auto server = coord::server::Server::Create(options);   // opens the data dir
//   if (!server.ok()) { print server.status(); exit(1); }
//   Status s = (*server)->Start();                           // binds the ports
//   ... wait for SIGTERM ...
//   (*server)->Stop();
//
// Member identity: a member's Raft id is derived from its name (MemberIdFromName,
// a 64-bit FNV-1a hash), so every member computes the same ids from
// --initial-cluster and from MemberAdd requests. The cluster id is the hash of the
// cluster token. The data directory holds `member.id` (cluster id, name, member
// id) and a `LOCK` file held (flock) while the member runs; Create() refuses a
// directory of another member or cluster, or one locked by a running member.
//
// Thread-safety: Create/Start/Stop from one thread; the accessors are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coord/server/state_machine.h"
#include "coord/status.h"

namespace coord::server {

// Limits of the client API. Over a limit a request fails with TOO_LARGE (sizes) or
// UNAVAILABLE (counts) and the member keeps serving.
struct ServerLimits {
  // Largest WebSocket message (one request frame). Larger frames close the
  // connection with a "message too big" close frame. Default 1.5 MiB.
  size_t max_request_bytes = 1536 * 1024;
  // Concurrent client connections (HTTP and WebSocket). Default 1024.
  size_t max_connections = 1024;
  // Concurrent client connections from one source IP address, so that one host
  // cannot take every slot. Default 512.
  size_t max_connections_per_source = 512;
  // Requests in flight on one connection. Default 1024.
  size_t max_inflight_per_connection = 1024;
  // Watches open on one connection. Default 256.
  size_t max_watches_per_connection = 256;
  // Events of one watch queued for a connection and not yet written. A watch
  // over it is cancelled (slow consumer). Default 10,000; also bounds catch-up.
  size_t max_pending_events_per_watch = 10'000;
  // Bytes queued for one connection and not yet written to its socket (replies,
  // events, pushes). Past it the connection stops reading requests until the
  // queue drains below it; a connection whose queue stays past it for 10 s, or
  // grows past twice it, is closed (1008, "not reading its replies").
  // Default 16 MiB.
  size_t max_outbound_bytes_per_connection = 16 * 1024 * 1024;
  // Largest reply (one encoded Response). A read whose result would be larger
  // fails with TOO_LARGE and a hint to paginate. Default 4 MiB.
  size_t max_response_bytes = 4 * 1024 * 1024;
  // Live sessions one connection may own (created or last kept alive through
  // it); a create over it fails with RESOURCE_EXHAUSTED. The ensemble-wide cap
  // (StateMachineOptions::max_sessions, 200,000) bounds the total. Default 1000.
  size_t max_sessions_per_connection = 1000;
};

// TLS on the client port: HTTPS and WSS only (plaintext connections fail their
// handshake), TLS 1.2 or newer. Off while cert_file is empty.
struct ClientTlsOptions {
  std::string cert_file;        // PEM certificate chain of this member
  std::string key_file;         // PEM private key of cert_file
  std::string trusted_ca_file;  // PEM CA bundle that client certificates must chain to
  // Require a client certificate signed by trusted_ca_file (mutual TLS).
  bool client_cert_auth = false;
  bool enabled() const { return !cert_file.empty(); }
};

// TLS on the peer port: mutual TLS between members, TLS 1.2 or newer, all
// three files required; off while cert_file is empty. A member's certificate must carry its
// member name (--name) as a DNS subject alternative name or as the subject CN;
// a connection whose certificate names another member, or a member not in the
// current configuration, is refused (coord_peer_connections_refused_total).
struct PeerTlsOptions {
  std::string cert_file;        // PEM certificate chain of this member (naming it)
  std::string key_file;         // PEM private key of cert_file
  std::string trusted_ca_file;  // PEM CA bundle every member's certificate chains to
  bool enabled() const { return !cert_file.empty(); }
};

// One member of the initial ensemble.
struct ClusterMember {
  std::string name;
  std::string peer_address;  // "host:port"
};

struct ServerOptions {
  std::string name = "default";
  std::string data_dir = "coord-data";
  std::string listen_client = "127.0.0.1:7420";
  std::string listen_peer = "127.0.0.1:7421";
  // The initial ensemble (voters). Empty: this member alone at listen_peer.
  // Only used on first start (a fresh data directory).
  std::vector<ClusterMember> initial_cluster;
  // False ("new"): on first start the initial_cluster members are the voters of a
  // brand-new ensemble. True ("existing"): this member joins a running ensemble
  // that already added it (MemberAdd); it starts with an empty log and waits for
  // the leader. Ignored on restart.
  bool join_existing = false;
  // Members of different clusters refuse each other's traffic and data dirs.
  std::string cluster_token = "coord";
  // Raft tick; heartbeats every tick, elections after election_ticks..
  // 2*election_ticks ticks of silence: 300-600 ms by default, so a failover
  // takes about half a second (docs/decisions.md D12).
  int tick_ms = 50;
  int election_ticks = 6;
  // Deadline of a request with timeout_ms = 0.
  uint32_t default_timeout_ms = 5000;
  // How long a login token (authenticate) is valid, in seconds.
  int auth_token_ttl_s = 300;
  // Raft snapshot every this many applied entries (0 = never). A snapshot stalls
  // the member while it is taken (docs/decisions.md D35), hence etcd's 100,000.
  uint64_t snapshot_threshold = 100'000;
  // Also fsync Raft writes that only raise the commit index (docs/decisions.md
  // D11, D34). Entries, votes, terms and snapshots are always synced, so no
  // acknowledged write depends on this; false halves the fsyncs per write.
  bool sync_commit_updates = false;
  ServerLimits limits;
  ClientTlsOptions client_tls;
  PeerTlsOptions peer_tls;
  StateMachineOptions state;
};

// Deterministic member id of a name (never 0).
uint64_t MemberIdFromName(const std::string& name);
// Deterministic cluster id of a cluster token (never 0).
uint64_t ClusterIdFromToken(const std::string& token);

class Server {
 public:
  // Opens (creating if needed) the data directory, checks its identity and lock,
  // opens the Raft storage and builds the node. Errors: kInvalidArgument (bad
  // options), kPermissionDenied / kIOError (data dir of another member or cluster,
  // locked by another process, unreadable), storage errors.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();  // Stop()s.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the client port, starts the node and the API. Errors: kIOError
  // (address in use), transport errors.
  Status Start();
  // Closes the listener and all connections, stops the node. Idempotent.
  void Stop();

  // Reads the client port's TLS files again (coordd does it on SIGHUP). New
  // connections use them; connections already open keep theirs. Both the client
  // port's and the peer port's files are read. Errors (the old files stay in
  // use): kInvalidArgument when TLS is off on both ports,
  // the errors of a bad file as at start.
  Status ReloadTls();

  // "host:port" the client API listens on (after Start).
  std::string client_address() const;
  uint64_t member_id() const;

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coord::server
