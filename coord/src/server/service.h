// Service: serves client requests on one member — what each request kind means,
// between the connections (ClientSink), the Raft node and the state machine.
// Its parts: RequestRouter (the way to the leader's log or a read point:
// proposing, forwarding, retries, deadlines), MemberDirectory, PushRegistry,
// LeaderDuties, WatchHub.
//
// Request kinds:
//   writes (put, delete, txn, compact, session create/keepalive/close) become a
//     state Command proposed on the leader or forwarded to it (RequestRouter). A
//     write reserves its reply's place on the connection when it arrives (see
//     outbound_queue.h).
//   lock_acquire/release/revoke and election_campaign/resign/proclaim are writes
//     like the above (client_id/sequence dedup applies).
//   linearizable range reads, read-only txns, lock_inspect, lock_list,
//     election_leader: a read point (RequestRouter::AfterReadIndex), then the
//     local state.
//   serializable range reads, session_list, member_list, status: local.
//   watch_create / watch_cancel: the WatchHub (works on every member).
//   election_leader with observe: the reply, then ElectionLeader events on the
//     connection (every member applies every change, so followers serve it too).
// Pushed lock events: a queued acquire's LockEvent (grant or end of the wait)
//   goes to the connection that sent it, on the member that served it, after its
//   reply (service_locks.cc). The leader proposes LockWaitTimeout at the wait
//   deadlines kept by the LockWaitTracker.
//   member_add/promote/remove, transfer_leadership: on the leader (forwarded).
// 2PC and topics: tpc_begin/vote/ack, topic_commit_offset and topic_trim are writes;
//   tpc_get, tpc_list and topic_read are linearizable reads. tpc_list with
//   subscribe replies with the participant's list, then pushes a TpcEvent for
//   every later prepare and decision that names the participant (service_tpc.cc;
//   every member applies every decision, so followers serve it too). The leader
//   proposes TpcTimeout / TpcForget at the deadlines kept by the TpcTimerTracker.
// Deadlines: every request has one (timeout_ms or the default); what happens
// without a leader, after a possible append, and to a late forward is the
// RequestRouter's contract (request_router.h).
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>

#include "coord.pb.h"
#include "coord/consensus/tcp_transport.h"
#include "coord/server/server.h"
#include "peer.pb.h"
#include "server/client_sink.h"
#include "server/leader_duties.h"
#include "server/lock_wait_tracker.h"
#include "server/member_directory.h"
#include "server/metrics.h"
#include "server/outcome.h"
#include "server/proposal_outcome.h"
#include "server/push_registry.h"
#include "server/raft_host.h"
#include "server/request_router.h"
#include "server/session_tracker.h"
#include "server/state_adapter.h"
#include "server/tpc_timer_tracker.h"
#include "server/watch_hub.h"

namespace coord::server {

// A learner may be promoted (without force) once its log holds at least 90% of
// the leader's commit index.
bool LearnerCaughtUp(uint64_t match, uint64_t leader_commit);

struct ServiceOptions {
  std::string name;
  uint64_t member_id = 0;
  std::string peer_address;
  std::string client_address;  // filled once the listener is bound
  std::chrono::milliseconds tick{100};
  std::chrono::milliseconds election_timeout{1000};
  std::chrono::milliseconds default_timeout{5000};
  size_t max_inflight_per_connection = 1024;
  size_t max_response_bytes = 4 * 1024 * 1024;
  size_t max_sessions_per_connection = 1000;
  // How long a token from authenticate is valid (--auth-token-ttl).
  std::chrono::seconds auth_token_ttl{300};
};

class Service {
 public:
  using Clock = std::chrono::steady_clock;

  // All pointers are borrowed and must outlive the service. The Raft host is set
  // later with set_raft_host() (the node is created after the service, which
  // handles its peer payloads), before Start() or any request.
  Service(ServiceOptions options, boost::asio::io_context& io, StateAdapter* adapter, WatchHub* hub,
          SessionTracker* tracker, Metrics* metrics);
  ~Service();

  void set_raft_host(RaftHost* raft) {
    raft_ = raft;
    router_.set_raft_host(raft);
  }
  // Subscribes to the adapter's apply, session-expiry and restore callbacks
  // (OnApplied, OnSessionsExpired, OnRestored). Once, before the node starts.
  void ListenToAdapter();
  // Optional (set before Start): the leader's lock wait deadlines; borrowed.
  void set_lock_wait_tracker(LockWaitTracker* tracker) { lock_tracker_ = tracker; }
  // Optional (set before Start): the leader's 2PC timers; borrowed.
  void set_tpc_timer_tracker(TpcTimerTracker* tracker) { tpc_tracker_ = tracker; }
  void set_client_address(const std::string& address);
  // Optional (set before Start): the peer transport's counters for /metrics.
  void set_peer_stats(std::function<raft::TcpTransport::Stats()> f) { peer_stats_ = std::move(f); }
  void AddMember(uint64_t id, MemberInfo info);

  // Starts the periodic timer (the leader's duties: session expiry, lock and 2PC
  // timeouts, checkpoints; forward timeouts, hellos, progress notifications).
  // Stop() cancels it. The Raft host and the trackers are set before.
  void Start();
  void Stop();

  // Serves one decoded request from a connection. The reply goes to `sink`.
  void Handle(const std::shared_ptr<ClientSink>& sink, coord::v1::Request request, bool text);
  // The connection closed: drop its watches and in-flight bookkeeping.
  void OnConnectionClosed(uint64_t connection_id);
  // A payload from a peer (any thread; must not block).
  void OnPeerPayload(raft::NodeId from, std::string payload);
  // Sessions ended by expiry (from the adapter, after apply).
  void OnSessionsExpired(const std::vector<int64_t>& ids);
  // After every applied command (the node thread; must not block): pushes the
  // LockEvents of queued acquires this member served, counts lock metrics.
  void OnApplied(const ApplyResult& result);
  // After a snapshot install, with the restored state (the node thread, under the
  // state lock): re-derives the pushed streams (push_registry.h).
  void OnRestored(const StateMachine& state) { pushes_.Resync(state); }

  // Whether `sink` must still authenticate: auth is enabled, and it has no
  // identity and offered no token (the first-message timeout, ws_session.h).
  bool NeedsLogin(const ClientSink& sink) const;

  // For /readyz, /metrics and the status page.
  bool Ready() const;
  bool Healthy() const;
  MetricsSnapshot Gauges() const;
  std::string StatusText() const;

 private:
  // Checks the caller may send `request`, then routes it. A refusal is given
  // only on a second look after a ReadIndex (`refused_before`: the first look's
  // answer), so it never rests on auth state older than an acknowledged change.
  void Admit(const std::shared_ptr<ClientSink>& sink, coord::v1::Request request, bool text,
             Clock::time_point deadline, std::optional<Status> refused_before);
  // `user`: the connection's authenticated user, already allowed to send it.
  void Route(const std::shared_ptr<ClientSink>& sink, const coord::v1::Request& request,
             const std::string& user, bool text, Clock::time_point deadline);
  // The router's LeaderExecutor: a membership request on this member, the leader.
  void ProposeMembership(const coord::v1::Request& request, const std::string& user,
                         Clock::time_point deadline, Done done);
  // A started leadership transfer: `done` gets OK once `target` leads, UNAVAILABLE
  // if it does not by the deadline.
  void AwaitLeader(raft::NodeId target, Clock::time_point deadline,
                   std::function<void(Status)> done);
  // A range, lock_inspect, lock_list, ... read after a read point.
  void LinearizableRead(const coord::v1::Request& request, const std::string& user,
                        Clock::time_point deadline, Done done);
  void OnTick();

  // The local answer to a read (range, lock_inspect, lock_list, election_leader,
  // user_list, role_list), after checking `user` may make it (under the same lock).
  coord::v1::Response LocalRead(const coord::v1::Request& request, const std::string& user) const;

  // ---- service_auth.cc ----
  // The user a request of `sink` comes from (empty: none, or auth is disabled), or
  // UNAUTHENTICATED when its login ended (token expired, password changed, user
  // deleted, auth re-enabled with a new key). Resolves a token offered at the
  // upgrade. Under the state lock.
  Result<std::string> CallerOf(ClientSink& sink, const StateMachine& sm) const;
  // authenticate: checks a token at once, a password (after a read point) on the
  // hashing thread; a failure delays the reply (the back-off).
  void Authenticate(const std::shared_ptr<ClientSink>& sink, const coord::v1::Request& request,
                    bool text, Clock::time_point deadline);
  void FinishLogin(const std::shared_ptr<ClientSink>& sink, coord::v1::Response response,
                   bool text, Status failure);
  coord::v1::Response AuthStatus(ClientSink& sink, const coord::v1::Request& request) const;
  // One of the kMaxLoginsInProgress places for a login or a password hash; false
  // (UNAVAILABLE queued on `sink`) when all are taken. Give it back with
  // logins_in_progress_.fetch_sub(1) once the hashing is done.
  bool TakeLoginSlot(ClientSink& sink, uint64_t request_id, bool text);
  // auth_set and user_change carry what only a member provides (the signing key,
  // the password hash); fills it (hashing on the hashing thread), then routes.
  // True if it took the request.
  bool PrepareAuthWrite(const std::shared_ptr<ClientSink>& sink, coord::v1::Request request,
                        const std::string& user, bool text, Clock::time_point deadline);
  // A queued acquire's reply was delivered to `sink`: its later LockEvent goes there.
  void RegisterLockWaiter(const std::shared_ptr<ClientSink>& sink, bool text,
                          const coord::v1::Request& request, const coord::v1::Response& response);
  void DeliverLockEvent(coord::v1::LockEvent event);
  void NoteHoldStarted(const std::string& lock, int64_t session);
  // election_leader with observe: reply with the current leader, push it as the
  // first event and register the connection, atomically w.r.t. applied changes.
  void Observe(const std::shared_ptr<ClientSink>& sink, const coord::v1::Request& request,
               bool text, Clock::time_point deadline);
  // election_leader with unobserve: drops one observer of the name on this
  // connection, before the reply, so no event of it follows the reply.
  coord::v1::Response Unobserve(uint64_t connection_id, const coord::v1::Request& request);
  // tpc_list with subscribe: reply with the participant's list and register the
  // connection for its TpcEvents, atomically w.r.t. applied changes.
  void SubscribeParticipant(const std::shared_ptr<ClientSink>& sink,
                            const coord::v1::Request& request, bool text,
                            Clock::time_point deadline);
  // Reads that wait for a ReadIndex and retry transient failures until the
  // deadline, then run `f` (Observe, SubscribeParticipant).
  void AfterReadIndex(const std::shared_ptr<ClientSink>& sink, const coord::v1::Request& request,
                      bool text, Clock::time_point deadline, std::function<void()> f);
  // Hold-time bookkeeping: holds end at the release replies this member serves,
  // or when the holder's session ends (expiry or close).
  void EndHolds(const std::vector<int64_t>& sessions, Clock::time_point now);
  void NoteLockReply(const coord::v1::Request& request, const coord::v1::Response& response);
  coord::v1::Response MemberList(uint64_t id) const;
  coord::v1::Response StatusResponse(uint64_t id) const;

  ServiceOptions options_;
  boost::asio::io_context& io_;
  // Peer payloads (forwards, replies) are handled one at a time in arrival
  // order: io_ runs on several threads, and forwards of one client connection
  // must be proposed in the order it sent them.
  boost::asio::strand<boost::asio::io_context::executor_type> peer_strand_;
  StateAdapter* adapter_;
  WatchHub* hub_;
  SessionTracker* tracker_;
  Metrics* metrics_;
  RaftHost* raft_ = nullptr;
  LockWaitTracker* lock_tracker_ = nullptr;
  TpcTimerTracker* tpc_tracker_ = nullptr;
  std::function<raft::TcpTransport::Stats()> peer_stats_;
  boost::asio::steady_timer timer_;
  PushRegistry pushes_;                   // own lock; taken after the state lock, never before
  MemberDirectory members_;               // own lock
  RequestRouter router_;                  // no lock of its own beyond its parts'; after members_
  std::unique_ptr<LeaderDuties> duties_;  // created by Start(); used by OnTick only

  mutable std::mutex mu_;  // guards everything below
  bool stopped_ = false;
  // Apply-time bookkeeping for the wait-time metric: acquire_index -> queued at.
  std::map<uint64_t, Clock::time_point> wait_started_;
  // Hold-time metric for grants delivered by this member: (lock, session) -> granted
  // at; observed when a release served here reports was_holder. Bounded.
  std::map<std::pair<std::string, int64_t>, Clock::time_point> hold_started_;
  raft::NodeId last_leader_ = raft::kNoNode;
  Clock::time_point next_hello_{};
  Clock::time_point next_progress_{};

  // Password hashing and checking (tens of ms each) off the I/O threads; at most
  // kMaxLoginsInProgress wait for it. Declared last: joined before the rest goes.
  static constexpr int kMaxLoginsInProgress = 64;
  std::atomic<int> logins_in_progress_{0};
  boost::asio::thread_pool hash_pool_{1};
};

}  // namespace coord::server
