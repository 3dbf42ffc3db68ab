#include "server/metrics.h"

#include <sstream>

namespace coord::server {

void Metrics::CountRequest(const std::string& type) {
  std::lock_guard lock(mu_);
  ++requests_[type];
}

void Metrics::CountError(const std::string& type, const std::string& code) {
  std::lock_guard lock(mu_);
  ++errors_[{type, code}];
}

void Metrics::ObserveProposal(std::chrono::steady_clock::duration latency) {
  const double s = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mu_);
  ++proposals_;
  proposal_seconds_sum_ += s;
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    if (s <= kBucketsSeconds[i]) ++buckets_[i];
  }
}

std::string Metrics::Render(const MetricsSnapshot& g) const {
  std::ostringstream o;
  auto gauge = [&](const char* name, const char* help, auto value) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n"
      << name << ' ' << value << '\n';
  };
  auto counter = [&](const char* name, const char* help, auto value) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n"
      << name << ' ' << value << '\n';
  };
  gauge("coord_raft_term", "Current Raft term.", g.term);
  gauge("coord_raft_commit_index", "Raft commit index.", g.commit_index);
  gauge("coord_raft_applied_index", "Raft applied index.", g.applied_index);
  gauge("coord_raft_is_leader", "1 if this member is the leader.", g.is_leader ? 1 : 0);
  gauge("coord_raft_has_leader", "1 if a leader is known.", g.has_leader ? 1 : 0);
  counter("coord_raft_leader_changes_total", "Leader changes seen by this member.",
          leader_changes_.load());
  gauge("coord_store_revision", "Store revision.", g.revision);
  gauge("coord_store_compacted_revision", "Compacted revision.", g.compacted_revision);
  gauge("coord_store_keys", "Live keys.", g.keys);
  gauge("coord_sessions", "Live sessions.", g.sessions);
  counter("coord_sessions_expired_total", "Sessions expired (applied on this member).",
          sessions_expired_.load());
  gauge("coord_watches", "Open watches on this member.", g.watches);
  gauge("coord_connections", "Open client WebSocket connections.", connections_.load());
  gauge("coord_client_sockets",
        "Open client TCP connections (HTTP, upgrading, WebSocket or idle); the connection cap "
        "counts these.",
        sockets_.load());
  counter("coord_client_connections_refused_total",
          "Client connections refused at accept: the connection cap was reached.",
          connections_refused_.load());
  counter("coord_client_tls_handshake_failures_total",
          "Client connections closed because their TLS handshake failed or timed out "
          "(plaintext on a TLS port, no or an untrusted client certificate).",
          tls_handshake_failures_.load());
  counter("coord_client_connections_refused_per_source_total",
          "Client connections refused at accept: their source address had "
          "--max-connections-per-source open.",
          source_refused_.load());
  counter("coord_client_accept_errors_total",
          "Failed accepts on the client port (e.g. out of descriptors); each backs off.",
          accept_errors_.load());
  counter("coord_auth_logins_total", "Successful authenticate requests (password or token).",
          logins_.load());
  counter("coord_auth_login_failures_total",
          "Refused authenticate requests: wrong name or password, or a bad or expired token "
          "(each delays the connection's next login).",
          login_failures_.load());
  counter("coord_auth_logins_shed_total",
          "Password logins refused with UNAVAILABLE because too many were being checked.",
          logins_shed_.load());
  counter("coord_auth_login_timeouts_total",
          "Connections closed because auth is enabled and they did not authenticate within "
          "10 s of the upgrade.",
          login_timeouts_.load());
  counter("coord_auth_unauthenticated_total",
          "Requests refused with UNAUTHENTICATED (auth enabled, no or an ended login).",
          unauthenticated_.load());
  counter("coord_auth_permission_denied_total",
          "Requests refused with PERMISSION_DENIED by the serving member.",
          permission_denied_.load());
  counter("coord_bad_frames_total", "Client frames that could not be decoded.", bad_frames_.load());
  counter("coord_forwards_expired_total",
          "Forwarded requests this leader dropped unstarted: they arrived after their origin's "
          "deadline.",
          forwards_expired_.load());
  counter("coord_client_read_pauses_total",
          "Times a connection stopped reading requests: its outbound queue was over its bound.",
          read_pauses_.load());
  counter("coord_client_slow_closes_total",
          "Connections closed because they did not read their replies (outbound bound).",
          slow_clients_closed_.load());
  counter("coord_lock_acquisitions_total", "Lock grants (at once or after a wait).",
          lock_acquired_.load());
  gauge("coord_lock_waiters", "Queued lock acquires.", g.lock_waiters);
  counter("coord_lock_wait_timeouts_total", "Lock waits that ended by their timeout.",
          lock_wait_timeouts_.load());
  counter("coord_lock_wait_session_ended_total", "Lock waits ended by their session ending.",
          lock_wait_session_ended_.load());
  counter("coord_lock_revocations_total", "Lock holders removed by revocation.",
          lock_revocations_.load());
  counter("coord_lock_fencing_rejections_total", "Txns refused by a LOCK_TOKEN compare.",
          g.fencing_rejections);
  counter("coord_election_leader_changes_total", "Election leader changes and proclaims.",
          election_changes_.load());
  counter("coord_tpc_begun_total", "2PC transactions begun.", tpc_begun_.load());
  counter("coord_tpc_committed_total", "2PC transactions decided COMMITTED.",
          tpc_committed_.load());
  counter("coord_tpc_aborted_total", "2PC transactions decided ABORTED (a NO or the timeout).",
          tpc_aborted_.load());
  gauge("coord_tpc_in_doubt", "2PC transactions PREPARING (begun, not yet decided).",
        g.tpc_in_doubt);
  gauge("coord_tpc_remembered",
        "2PC transactions remembered (in doubt, or decided and "
        "awaiting acknowledgements).",
        g.tpc_remembered);
  counter("coord_peer_connections_refused_total",
          "Peer connections refused: failed handshake (wrong secret, unknown or removed "
          "member), handshake timeout, or too many handshakes.",
          g.peer_connections_refused);
  counter("coord_peer_frames_refused_total",
          "Frames on an authenticated peer connection claiming another sender.",
          g.peer_frames_refused);
  counter("coord_peer_bad_frames_total", "Peer frames that could not be decoded.",
          g.peer_bad_frames);
  counter("coord_peer_sent_bytes_total",
          "Bytes written to peer connections (log replication, snapshots, forwards).",
          g.peer_bytes_sent);
  counter("coord_peer_received_bytes_total", "Bytes read from peer connections.",
          g.peer_bytes_received);
  counter("coord_peer_messages_refused_total",
          "Raft messages refused by the core (malformed, or numbers out of bounds).",
          g.peer_messages_refused);
  std::lock_guard lock(mu_);
  o << "# HELP coord_requests_total Client requests by type.\n"
       "# TYPE coord_requests_total counter\n";
  for (const auto& [type, n] : requests_) {
    o << "coord_requests_total{type=\"" << type << "\"} " << n << '\n';
  }
  o << "# HELP coord_request_errors_total Failed client requests by type and code.\n"
       "# TYPE coord_request_errors_total counter\n";
  for (const auto& [key, n] : errors_) {
    o << "coord_request_errors_total{type=\"" << key.first << "\",code=\"" << key.second << "\"} "
      << n << '\n';
  }
  o << "# HELP coord_lock_wait_seconds Time queued lock acquires waited for their grant.\n"
       "# TYPE coord_lock_wait_seconds summary\n"
    << "coord_lock_wait_seconds_sum " << lock_wait_seconds_ << '\n'
    << "coord_lock_wait_seconds_count " << lock_waits_ << '\n';
  o << "# HELP coord_lock_hold_seconds Time from grant to release (served by this member).\n"
       "# TYPE coord_lock_hold_seconds summary\n"
    << "coord_lock_hold_seconds_sum " << lock_hold_seconds_ << '\n'
    << "coord_lock_hold_seconds_count " << lock_holds_ << '\n';
  o << "# HELP coord_proposal_seconds Latency of proposals through Raft on this member.\n"
       "# TYPE coord_proposal_seconds histogram\n";
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    o << "coord_proposal_seconds_bucket{le=\"" << kBucketsSeconds[i] << "\"} " << buckets_[i]
      << '\n';
  }
  o << "coord_proposal_seconds_bucket{le=\"+Inf\"} " << proposals_ << '\n'
    << "coord_proposal_seconds_sum " << proposal_seconds_sum_ << '\n'
    << "coord_proposal_seconds_count " << proposals_ << '\n';
  return o.str();
}

void Metrics::ObserveLockWait(std::chrono::steady_clock::duration wait) {
  std::lock_guard lock(mu_);
  ++lock_waits_;
  lock_wait_seconds_ += std::chrono::duration<double>(wait).count();
}

void Metrics::ObserveLockHold(std::chrono::steady_clock::duration hold) {
  std::lock_guard lock(mu_);
  ++lock_holds_;
  lock_hold_seconds_ += std::chrono::duration<double>(hold).count();
}

}  // namespace coord::server
