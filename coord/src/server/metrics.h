// Metrics: the counters behind /metrics (Prometheus text format 0.0.4).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace coord::server {

// Gauges sampled when /metrics is rendered.
struct MetricsSnapshot {
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  bool is_leader = false;
  bool has_leader = false;
  int64_t revision = 0;
  int64_t compacted_revision = 0;
  uint64_t sessions = 0;
  uint64_t watches = 0;
  uint64_t keys = 0;
  uint64_t lock_waiters = 0;        // queued lock acquires (from the state)
  uint64_t fencing_rejections = 0;  // StateMachine::fencing_rejections()
  uint64_t tpc_in_doubt = 0;        // PREPARING 2PC transactions (from the state)
  uint64_t tpc_remembered = 0;      // every remembered 2PC transaction
  // The peer port (transport and Raft core counters).
  uint64_t peer_connections_refused = 0;
  uint64_t peer_frames_refused = 0;
  uint64_t peer_bad_frames = 0;
  uint64_t peer_messages_refused = 0;
  uint64_t peer_bytes_sent = 0;      // Raft traffic and forwards, length prefixes included
  uint64_t peer_bytes_received = 0;
};

class Metrics {
 public:
  void CountRequest(const std::string& type);
  void CountError(const std::string& type, const std::string& code);
  void ObserveProposal(std::chrono::steady_clock::duration latency);
  void CountLeaderChange() { leader_changes_.fetch_add(1); }
  void CountSessionExpired(uint64_t n) { sessions_expired_.fetch_add(n); }
  // Locks and elections, as applied on this member.
  void CountLockAcquired() { lock_acquired_.fetch_add(1); }
  void ObserveLockWait(std::chrono::steady_clock::duration wait);
  void ObserveLockHold(std::chrono::steady_clock::duration hold);
  void CountLockWaitTimeout() { lock_wait_timeouts_.fetch_add(1); }
  void CountLockWaitSessionEnded() { lock_wait_session_ended_.fetch_add(1); }
  void CountLockRevocation(uint64_t n) { lock_revocations_.fetch_add(n); }
  void CountElectionChange() { election_changes_.fetch_add(1); }
  // 2PC decisions as applied on this member since it started.
  void CountTpcBegun() { tpc_begun_.fetch_add(1); }
  void CountTpcDecided(bool committed) { (committed ? tpc_committed_ : tpc_aborted_).fetch_add(1); }
  void CountBadFrame() { bad_frames_.fetch_add(1); }
  void CountForwardExpired() { forwards_expired_.fetch_add(1); }
  void CountReadPause() { read_pauses_.fetch_add(1); }
  void CountSlowClientClosed() { slow_clients_closed_.fetch_add(1); }
  void ConnectionOpened() { connections_.fetch_add(1); }
  void ConnectionClosed() { connections_.fetch_sub(1); }
  int64_t connections() const { return connections_.load(); }
  // Every accepted client TCP connection, upgraded or not (ClientSocketSlot).
  void SocketOpened() { sockets_.fetch_add(1); }
  void SocketClosed() { sockets_.fetch_sub(1); }
  int64_t sockets() const { return sockets_.load(); }
  void CountConnectionRefused() { connections_refused_.fetch_add(1); }
  void CountTlsHandshakeFailure() { tls_handshake_failures_.fetch_add(1); }
  void CountSourceRefused() { source_refused_.fetch_add(1); }
  void CountAcceptError() { accept_errors_.fetch_add(1); }
  // Access control: logins that succeeded or failed (wrong password, bad token),
  // logins refused because too many were being checked, and requests refused
  // with UNAUTHENTICATED or PERMISSION_DENIED.
  void CountLogin(bool ok) { (ok ? logins_ : login_failures_).fetch_add(1); }
  void CountLoginShed() { logins_shed_.fetch_add(1); }
  void CountLoginTimeout() { login_timeouts_.fetch_add(1); }
  void CountAuthRefusal(bool permission) {
    (permission ? permission_denied_ : unauthenticated_).fetch_add(1);
  }

  std::string Render(const MetricsSnapshot& gauges) const;

 private:
  static constexpr std::array<double, 12> kBucketsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, uint64_t> errors_;
  std::array<uint64_t, kBucketsSeconds.size()> buckets_{};
  uint64_t proposals_ = 0;
  double proposal_seconds_sum_ = 0;
  std::atomic<uint64_t> leader_changes_{0};
  std::atomic<uint64_t> sessions_expired_{0};
  std::atomic<uint64_t> bad_frames_{0};
  std::atomic<uint64_t> forwards_expired_{0};
  std::atomic<uint64_t> read_pauses_{0};
  std::atomic<uint64_t> slow_clients_closed_{0};
  std::atomic<uint64_t> lock_acquired_{0};
  std::atomic<uint64_t> lock_wait_timeouts_{0};
  std::atomic<uint64_t> lock_wait_session_ended_{0};
  std::atomic<uint64_t> lock_revocations_{0};
  std::atomic<uint64_t> election_changes_{0};
  std::atomic<uint64_t> tpc_begun_{0};
  std::atomic<uint64_t> tpc_committed_{0};
  std::atomic<uint64_t> tpc_aborted_{0};
  uint64_t lock_waits_ = 0;  // guarded by mu_
  double lock_wait_seconds_ = 0;
  uint64_t lock_holds_ = 0;
  double lock_hold_seconds_ = 0;
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> sockets_{0};
  std::atomic<uint64_t> connections_refused_{0};
  std::atomic<uint64_t> tls_handshake_failures_{0};
  std::atomic<uint64_t> source_refused_{0};
  std::atomic<uint64_t> accept_errors_{0};
  std::atomic<uint64_t> logins_{0};
  std::atomic<uint64_t> login_failures_{0};
  std::atomic<uint64_t> logins_shed_{0};
  std::atomic<uint64_t> login_timeouts_{0};
  std::atomic<uint64_t> permission_denied_{0};
  std::atomic<uint64_t> unauthenticated_{0};
};

}  // namespace coord::server
