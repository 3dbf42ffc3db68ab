#include "server/config.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace coord::server {

const char kCoorddUsage[] =
    "usage: coordd [--config FILE] [--name NAME] [--data-dir DIR]\n"
    "              [--listen-client HOST:PORT] [--listen-peer HOST:PORT]\n"
    "              [--initial-cluster NAME=PEERHOST:PORT,...] [--initial-cluster-state S]\n"
    "              [--cluster-token T]\n"
    "              [--tick-ms MS] [--election-ticks N] [--log-level LEVEL]\n"
    "\n"
    "  --name NAME              member name (default \"default\")\n"
    "  --data-dir DIR           data directory (default ./coord-data)\n"
    "  --listen-client H:P      client API, HTTP + WebSocket /v1/ws (default 127.0.0.1:7420)\n"
    "  --listen-peer H:P        Raft peer traffic (default 127.0.0.1:7421)\n"
    "  --initial-cluster LIST   the initial voters, NAME=PEERHOST:PORT,...; must contain\n"
    "                           this member (default: this member alone)\n"
    "  --initial-cluster-state S  new (default): bootstrap a new ensemble; existing:\n"
    "                           join a running ensemble that added this member\n"
    "  --cluster-token T        cluster identity (default \"coord\")\n"
    "  --tick-ms MS             Raft tick (default 50; heartbeats every tick)\n"
    "  --election-ticks N       election timeout N..2N ticks (default 6: 300-600 ms)\n"
    "  --log-level L            trace|debug|info|warn|error (default info)\n"
    "  --snapshot-entries N     Raft snapshot every N applied entries (default 100000;\n"
    "                           0 = never)\n"
    "  --sync-commit-updates B  true: also fsync commit-index-only Raft writes\n"
    "                           (default false; entries and votes are always synced)\n"
    "  --default-timeout-ms MS  deadline of requests without timeout_ms (default 5000)\n"
    "  --auth-token-ttl S       seconds a login token is valid (default 300)\n"
    "  --max-request-bytes N, --max-connections N, --max-connections-per-source N,\n"
    "  --max-inflight-per-connection N,\n"
    "  --max-watches-per-connection N, --max-pending-events-per-watch N,\n"
    "  --max-outbound-bytes-per-connection N, --max-response-bytes N,\n"
    "  --max-sessions-per-connection N\n"
    "                           client API limits (docs/protocol.md, \"Limits\")\n"
    "  --cert-file F, --key-file F  TLS on the client port (HTTPS, WSS only): this\n"
    "                           member's PEM certificate chain and key (docs/security.md)\n"
    "  --trusted-ca-file F      PEM CA bundle for client certificates\n"
    "  --client-cert-auth B     true: require a client certificate signed by it\n"
    "  --peer-cert-file F, --peer-key-file F, --peer-trusted-ca-file F\n"
    "                           mutual TLS on the peer port: this member's certificate\n"
    "                           (naming --name), its key, and the members' CA\n"
    "  --config FILE            read `key = value` lines with the names above\n";

namespace {

// Every setting name (flag without dashes, config file key).
const std::set<std::string> kSettings{"config",
                                      "name",
                                      "data-dir",
                                      "listen-client",
                                      "listen-peer",
                                      "initial-cluster",
                                      "cluster-token",
                                      "tick-ms",
                                      "election-ticks",
                                      "log-level",
                                      "snapshot-entries",
                                      "sync-commit-updates",
                                      "initial-cluster-state",
                                      "default-timeout-ms",
                                      "auth-token-ttl",
                                      "max-request-bytes",
                                      "max-connections",
                                      "max-connections-per-source",
                                      "max-inflight-per-connection",
                                      "max-watches-per-connection",
                                      "max-pending-events-per-watch",
                                      "max-outbound-bytes-per-connection",
                                      "max-response-bytes",
                                      "max-sessions-per-connection",
                                      "cert-file",
                                      "key-file",
                                      "trusted-ca-file",
                                      "client-cert-auth",
                                      "peer-cert-file",
                                      "peer-key-file",
                                      "peer-trusted-ca-file"};

// The client API limits, by flag name.
const std::map<std::string, size_t ServerLimits::*>& LimitFlags() {
  static const std::map<std::string, size_t ServerLimits::*> flags = {
      {"max-request-bytes", &ServerLimits::max_request_bytes},
      {"max-connections", &ServerLimits::max_connections},
      {"max-connections-per-source", &ServerLimits::max_connections_per_source},
      {"max-inflight-per-connection", &ServerLimits::max_inflight_per_connection},
      {"max-watches-per-connection", &ServerLimits::max_watches_per_connection},
      {"max-pending-events-per-watch", &ServerLimits::max_pending_events_per_watch},
      {"max-outbound-bytes-per-connection", &ServerLimits::max_outbound_bytes_per_connection},
      {"max-response-bytes", &ServerLimits::max_response_bytes},
      {"max-sessions-per-connection", &ServerLimits::max_sessions_per_connection},
  };
  return flags;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool ValidHostPort(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  const std::string port = s.substr(colon + 1);
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return std::stoi(port) <= 65535;
}

Status ParseInt(const std::string& key, const std::string& value, int lo, int hi, int* out) {
  try {
    size_t used = 0;
    const long v = std::stol(value, &used);
    if (used != value.size() || v < lo || v > hi) throw std::out_of_range(key);
    *out = static_cast<int>(v);
    return Status::Ok();
  } catch (const std::exception&) {
    return Status::InvalidArgument("--" + key + " must be an integer in [" + std::to_string(lo) +
                                   ", " + std::to_string(hi) + "], got '" + value + "'");
  }
}

}  // namespace

Result<std::vector<ClusterMember>> ParseInitialCluster(const std::string& list) {
  std::vector<ClusterMember> members;
  std::set<std::string> names;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = Trim(item);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || !ValidHostPort(item.substr(eq + 1))) {
      return Status::InvalidArgument("bad --initial-cluster item '" + item +
                                     "' (want NAME=HOST:PORT)");
    }
    ClusterMember m{item.substr(0, eq), item.substr(eq + 1)};
    if (!names.insert(m.name).second) {
      return Status::InvalidArgument("member '" + m.name + "' appears twice in --initial-cluster");
    }
    members.push_back(std::move(m));
  }
  if (members.empty()) return Status::InvalidArgument("empty --initial-cluster");
  return members;
}

Status ApplySetting(const std::string& key, const std::string& value, CoorddConfig* config) {
  ServerOptions& o = config->server;
  if (key == "name") {
    if (value.empty()) return Status::InvalidArgument("--name must not be empty");
    o.name = value;
  } else if (key == "data-dir") {
    if (value.empty()) return Status::InvalidArgument("--data-dir must not be empty");
    o.data_dir = value;
  } else if (key == "listen-client" || key == "listen-peer") {
    if (!ValidHostPort(value)) {
      return Status::InvalidArgument("--" + key + " must be HOST:PORT, got '" + value + "'");
    }
    (key == "listen-client" ? o.listen_client : o.listen_peer) = value;
  } else if (key == "initial-cluster") {
    auto members = ParseInitialCluster(value);
    if (!members.ok()) return members.status();
    o.initial_cluster = std::move(*members);
  } else if (key == "cluster-token") {
    if (value.empty()) return Status::InvalidArgument("--cluster-token must not be empty");
    o.cluster_token = value;
  } else if (key == "tick-ms") {
    return ParseInt(key, value, 1, 10'000, &o.tick_ms);
  } else if (key == "election-ticks") {
    return ParseInt(key, value, 2, 1000, &o.election_ticks);
  } else if (key == "initial-cluster-state") {
    if (value != "new" && value != "existing") {
      return Status::InvalidArgument("--initial-cluster-state must be new or existing");
    }
    o.join_existing = value == "existing";
  } else if (key == "default-timeout-ms") {
    int n = 0;
    COORD_RETURN_IF_ERROR(ParseInt(key, value, 1, 3'600'000, &n));
    o.default_timeout_ms = static_cast<uint32_t>(n);
  } else if (key == "auth-token-ttl") {
    int n = 0;
    COORD_RETURN_IF_ERROR(ParseInt(key, value, 1, 30 * 86'400, &n));
    o.auth_token_ttl_s = n;
  } else if (auto limit = LimitFlags().find(key); limit != LimitFlags().end()) {
    int n = 0;
    COORD_RETURN_IF_ERROR(ParseInt(key, value, 1, 1 << 30, &n));
    o.limits.*(limit->second) = static_cast<size_t>(n);
  } else if (key == "snapshot-entries") {
    int n = 0;
    COORD_RETURN_IF_ERROR(ParseInt(key, value, 0, 100'000'000, &n));
    o.snapshot_threshold = static_cast<uint64_t>(n);
  } else if (key == "sync-commit-updates") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument("--sync-commit-updates must be true or false");
    }
    o.sync_commit_updates = value == "true";
  } else if (key == "cert-file" || key == "key-file" || key == "trusted-ca-file") {
    if (value.empty()) return Status::InvalidArgument("--" + key + " must not be empty");
    (key == "cert-file"  ? o.client_tls.cert_file
     : key == "key-file" ? o.client_tls.key_file
                         : o.client_tls.trusted_ca_file) = value;
  } else if (key == "peer-cert-file" || key == "peer-key-file" ||
             key == "peer-trusted-ca-file") {
    if (value.empty()) return Status::InvalidArgument("--" + key + " must not be empty");
    (key == "peer-cert-file"  ? o.peer_tls.cert_file
     : key == "peer-key-file" ? o.peer_tls.key_file
                              : o.peer_tls.trusted_ca_file) = value;
  } else if (key == "client-cert-auth") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument("--client-cert-auth must be true or false");
    }
    o.client_tls.client_cert_auth = value == "true";
  } else if (key == "log-level") {
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(value)) return Status::InvalidArgument("bad --log-level '" + value + "'");
    config->log_level = value;
  } else {
    return Status::InvalidArgument("unknown setting '" + key + "'");
  }
  return Status::Ok();
}

Status ApplyConfigText(const std::string& text, CoorddConfig* config) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument("config line " + std::to_string(number) +
                                     ": want `key = value`");
    }
    Status s = ApplySetting(Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)), config);
    if (!s.ok()) {
      return Status::InvalidArgument("config line " + std::to_string(number) + ": " + s.message());
    }
  }
  return Status::Ok();
}

Result<CoorddConfig> ParseCommandLine(const std::vector<std::string>& args) {
  CoorddConfig config;
  // The file first, so command-line flags override it.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--config") continue;
    if (i + 1 >= args.size()) return Status::InvalidArgument("--config needs a FILE");
    std::ifstream in(args[i + 1]);
    if (!in) return Status::InvalidArgument("cannot read config file '" + args[i + 1] + "'");
    std::stringstream buf;
    buf << in.rdbuf();
    COORD_RETURN_IF_ERROR(ApplyConfigText(buf.str(), &config));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      config.help = true;
      return config;
    }
    if (a.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument '" + a + "'");
    std::string key = a.substr(2), value;
    const size_t eq = key.find('=');
    if (!kSettings.count(key.substr(0, eq))) {
      return Status::InvalidArgument("unknown setting '" + key.substr(0, eq) + "' (see --help)");
    }
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else {
      if (i + 1 >= args.size()) return Status::InvalidArgument(a + " needs a value");
      value = args[++i];
    }
    if (key == "config") continue;
    COORD_RETURN_IF_ERROR(ApplySetting(key, value, &config));
  }
  ServerOptions& o = config.server;
  if (o.limits.max_response_bytes > o.limits.max_outbound_bytes_per_connection) {
    return Status::InvalidArgument(
        "--max-response-bytes must not exceed --max-outbound-bytes-per-connection");
  }
  const ClientTlsOptions& tls = o.client_tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Status::InvalidArgument("--cert-file and --key-file go together");
  }
  if ((!tls.trusted_ca_file.empty() || tls.client_cert_auth) && !tls.enabled()) {
    return Status::InvalidArgument("--trusted-ca-file and --client-cert-auth need --cert-file");
  }
  if (tls.client_cert_auth && tls.trusted_ca_file.empty()) {
    return Status::InvalidArgument("--client-cert-auth needs --trusted-ca-file");
  }
  const PeerTlsOptions& peer_tls = o.peer_tls;
  if (!peer_tls.cert_file.empty() || !peer_tls.key_file.empty() ||
      !peer_tls.trusted_ca_file.empty()) {
    if (peer_tls.cert_file.empty() || peer_tls.key_file.empty() ||
        peer_tls.trusted_ca_file.empty()) {
      return Status::InvalidArgument(
          "--peer-cert-file, --peer-key-file and --peer-trusted-ca-file go together");
    }
  }
  if (!o.initial_cluster.empty()) {
    bool found = false;
    for (const ClusterMember& m : o.initial_cluster) found |= m.name == o.name;
    if (!found) {
      return Status::InvalidArgument("--initial-cluster does not contain this member '" + o.name +
                                     "'");
    }
  }
  return config;
}

}  // namespace coord::server
