// StateMachine: the replicated coordination state of one Coord member.
//
// All coordination state — keys with revisions and history, sessions, the client
// dedup table — lives here, in memory. Every change is a `coord::state::Command`
// (state.proto) that was committed in the Raft log; the server feeds committed
// commands to Apply() in log order with their Raft index. Apply() is deterministic:
// it reads no clock, no random source, does no I/O, and iterates only ordered
// containers, so every member that applies the same log reaches the same state and
// produces byte-identical snapshots. Time-based decisions (a session ran out of
// TTL) are made by the leader and arrive as commands (SessionExpire,
// SessionCheckpoint).
//
// Results are data. Apply() returns the client's coord.v1.Response (a body, or an
// Error for a domain error such as a failed precondition, an unknown session, a
// limit, a compacted revision), the watch events the command produced, and the
// sessions it ended. Domain errors are values, never failures of Apply().
//
// Revisions: the store revision starts at 0 and increases by exactly one for each
// command that changes the key space (a txn, a delete of several keys, a session
// expiry deleting several ephemeral keys: one revision each). Commands that change
// nothing in the key space (session create/keepalive/checkpoint, a delete that
// matched nothing, a failed txn with no writes) do not create a revision.
//
// History: every version of every key above the compacted revision is kept, so
// reads at a past revision and watch catch-up (EventsSince) work inside the window
// (compacted_revision, revision]. Automatic compaction keeps the last
// `history_revisions` revisions; CompactRequest compacts further. Requests for a
// revision at or below compacted_revision fail with COMPACTED and carry
// compacted_revision (the oldest available revision is compacted_revision + 1).
// Compaction costs O(events compacted), never O(keys).
//
// Sessions (leases) and the checkpoint protocol:
//   * A session has ttl_ms and remaining_ms. Create and KeepAlive set
//     remaining_ms = ttl_ms and renewed_index = the command's Raft index.
//   * The leader keeps a monotonic deadline per session: when it becomes leader,
//     deadline = now + remaining_ms (from Sessions()); when it applies a create or
//     keepalive, deadline = now + ttl_ms. When a deadline passes it proposes
//     SessionExpire{id, renewed_index}.
//   * Periodically (about once per election timeout) the leader proposes
//     SessionCheckpoint with remaining_ms = deadline - now for each session whose
//     record here is stale (not renewed or checkpointed for half its TTL; see
//     SessionTracker). A new leader therefore never extends a dead session by
//     more than half its TTL plus its election, and never expires a healthy one
//     early: a keepalive applied before the failover is in the state with full TTL.
//   * Both records carry the renewed_index the leader decided on; if a keepalive
//     was applied in between, the expiry/checkpoint of that session is ignored.
//   * Ending a session (close or expiry) deletes its ephemeral keys at one new
//     revision (DELETE events) and reports the ids in ApplyResult.
//
// Exactly-once writes: a command with client_id != 0 must have sequence >= 1. The
// table remembers, per client, the last sequence applied and its Response.
//   * sequence >  last: applied normally; its Response is remembered.
//   * sequence == last: not applied again; the remembered Response is returned
//     (ApplyResult::duplicate = true, no events).
//   * sequence <  last: not applied; CONFLICT "stale sequence".
// The table holds at most `max_dedup_clients` clients; beyond that the client whose
// last command has the lowest Raft index is forgotten (deterministic LRU). It is
// part of the snapshot.
//
// Locks (see also docs/decisions.md D25-D28): per name, the holders (one exclusive
// session, or several shared ones), a FIFO queue of waiters, and the last fencing
// token issued. Every grant takes the next token (last_token + 1) for that lock;
// the record outlives the holders, so tokens never repeat. A waiter at the head
// of the queue is granted when it fits: any waiter when the lock is free, a
// shared one also when the lock is held shared; a queued exclusive waiter blocks
// every later waiter (FIFO-fair). A release, a revocation, a wait timeout or a
// session ending grants the next fitting waiter(s) only, reported as
// ApplyResult::lock_grants. Wait timeouts are decided by the leader: it keeps a
// deadline per queued acquire with wait_timeout_ms (ApplyResult::lock_waits_queued,
// and LockWaits() when it takes office) and proposes LockWaitTimeout at the
// deadline; the timeout is ignored if the acquire was granted meanwhile.
// Guarded writes: a txn compare with target LOCK_TOKEN on key = lock name compares
// the lock's current token (the highest held; 0 when free or unknown).
//
// Elections: per name, a FIFO queue of candidates (session, value); the head is
// the leader. The term increases by one every time a candidate becomes leader (it
// is a fencing token like a lock's) and never goes back. Changes of the leader
// (including "no leader", session 0, and a proclaimed value) are reported as
// ApplyResult::election_changes. Ending a session releases its locks, drops its
// queued waits and withdraws its candidacies in the same command.
//
// 2PC transactions (docs/decisions.md D29-D31): Begin gives a txn id from a
// replicated counter, state PREPARING, and reports ApplyResult::tpc_prepares. A
// vote is recorded in the Apply of its command; the vote that decides (the last
// YES, or the first NO) moves the txn to COMMITTED / ABORTED in that same Apply,
// so the decision is in the log before anyone is told (ApplyResult::tpc_decisions).
// The timeout and the retention after a decision are the leader's: it keeps a
// timer per ApplyResult::tpc_timers entry (and PendingTxnDeadlines() when it takes
// office) and proposes TpcTimeout / TpcForget; both are ignored when stale. A txn
// is forgotten when every participant acknowledged, or by TpcForget. Each txn's
// state is mirrored into the key "/_coord/txn/<20-digit id>" (one revision per
// begin, decision and forget), so it is watchable.
//
// Topics (outbox): TxnOp.append writes topic + a 20-digit offset (the sequential
// key counter of the topic, so offsets increase and are never reused) atomically
// with the rest of the txn. TopicRead reads records from an offset;
// TopicCommitOffset compares-and-sets a consumer's offset key; TopicTrim deletes
// the records below every committed consumer offset (retention, bounded per call).
//
// Access control (docs/security.md; state/auth_table.h, auth_ops.cc): users,
// roles and the auth switch are replicated state, changed by auth_set,
// user_change and role_change. While auth is enabled every client command is
// checked at apply against Command.user (UNAUTHENTICATED without a known user,
// PERMISSION_DENIED without the right); such a refusal changes nothing and is not
// remembered by the exactly-once table (the client may retry the same sequence).
//
// Thread-safety: none. One thread (the server's apply strand) uses an instance; the
// const read methods may run concurrently only with other const methods.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

struct UserEntry;  // state/auth_table.h

// Limits and retention. Every member of an ensemble must use the same options (they
// influence the replicated state); they are not part of the snapshot.
struct StateMachineOptions {
  // Longest key in bytes (including the 20-digit suffix of a sequential key).
  // Over it: TOO_LARGE.
  size_t max_key_bytes = 8 * 1024;
  // Largest value in bytes. Over it: TOO_LARGE.
  size_t max_value_bytes = 1024 * 1024;
  // Most compares, and most operations in each of success and failure, of one txn.
  // Over it: TOO_LARGE.
  size_t max_txn_ops = 128;
  // Most bytes the reads of one write txn may return (its range results plus the
  // values it writes, which those ranges may see). Checked before anything is
  // written: over it the txn fails with TOO_LARGE and changes nothing. Read-only
  // txns are not logged; the serving member bounds them by its reply limit.
  size_t max_txn_result_bytes = 4 * 1024 * 1024;
  // Automatic compaction keeps the last `history_revisions` revisions readable and
  // watchable. 0 disables automatic compaction (only CompactRequest compacts).
  int64_t history_revisions = 10'000;
  // Session TTL bounds: a requested TTL is clamped to [min, max]; a TTL of 0 means
  // `default_session_ttl_ms`.
  int64_t min_session_ttl_ms = 1'000;
  int64_t max_session_ttl_ms = 3'600'000;
  int64_t default_session_ttl_ms = 10'000;
  // Most live sessions in the ensemble; a create over it fails with
  // RESOURCE_EXHAUSTED. Fixed per version (every member must apply creates alike).
  size_t max_sessions = 200'000;
  // Most clients remembered by the exactly-once table (least recently used by Raft
  // index are evicted first).
  size_t max_dedup_clients = 10'000;
  // 2PC: most participants of one transaction (over it: TOO_LARGE); a begin's
  // timeout_ms is clamped to [min, max], 0 means the default.
  size_t max_tpc_participants = 128;
  int64_t min_tpc_timeout_ms = 1'000;
  int64_t max_tpc_timeout_ms = 3'600'000;
  int64_t default_tpc_timeout_ms = 30'000;
  // How long a decided transaction is remembered when not every participant
  // acknowledges (the leader's TpcForget timer; see TpcTimer).
  int64_t tpc_retention_ms = 24 * 3'600'000LL;
};

// One watch event and the revision it belongs to. PUT events carry the new kv and,
// when the key existed before, prev_kv; DELETE events carry kv {key, mod_revision =
// the deleting revision} and prev_kv (the deleted version). A watch hub strips
// prev_kv for watchers that did not ask for it.
struct StateEvent {
  int64_t revision = 0;
  coord::v1::Event event;
};

// A queued lock acquire was granted (by a release, revocation, timeout or session
// end of someone else). The server pushes it to the waiter's connection.
struct LockGrant {
  std::string name;
  int64_t session = 0;
  int64_t token = 0;
  bool shared = false;
  uint64_t acquire_index = 0;  // the Raft index of the acquire that queued
};

// Why a queued acquire left the queue without a grant.
enum class LockWaitEndReason {
  kTimedOut,      // LockWaitTimeout
  kSessionEnded,  // the waiter's session closed or expired
  kWithdrawn,     // the waiter released (withdrew) its own wait
};

struct LockWaitEnded {
  std::string name;
  int64_t session = 0;
  uint64_t acquire_index = 0;
  LockWaitEndReason reason = LockWaitEndReason::kTimedOut;
};

// A queued lock acquire, as the leader's wait-deadline timer needs it.
struct LockWaitState {
  std::string name;
  int64_t session = 0;
  uint64_t acquire_index = 0;
  int64_t wait_timeout_ms = 0;  // 0 = waits until granted or its session ends
};

// An election's leader changed (session 0: no leader now) or proclaimed a value.
struct ElectionChange {
  std::string name;
  int64_t session = 0;
  std::string value;
  int64_t term = 0;  // the leader's term; with session 0, the last leader's term
};

// A 2PC transaction began: every participant is to be told to prepare.
struct TpcPrepare {
  uint64_t txn_id = 0;
  std::vector<std::string> participants;  // begin order
  std::string payload;
  int64_t timeout_ms = 0;
};

// A 2PC transaction was decided (committed in the log); tell every participant.
struct TpcDecision {
  uint64_t txn_id = 0;
  coord::v1::TpcState state = coord::v1::TPC_STATE_UNKNOWN;  // COMMITTED or ABORTED
  std::vector<std::string> participants;                     // begin order
  std::string reason;                                        // with ABORTED
};

// A timer the leader keeps for a 2PC transaction: after `after_ms` it proposes
// TpcTimeout{txn_id} (kTimeout, the txn is PREPARING) or TpcForget{txn_id}
// (kForget, the txn is decided and waits for acknowledgements).
enum class TpcTimerKind { kTimeout, kForget };

struct TpcTimer {
  uint64_t txn_id = 0;
  TpcTimerKind kind = TpcTimerKind::kTimeout;
  int64_t after_ms = 0;
};

// What one applied command produced.
struct ApplyResult {
  // The response for the client: header {revision, compacted_revision} and a body,
  // or `error` set (body unset). The server fills id, raft_term and member_id.
  // Internal commands (SessionExpire/Checkpoint) get a header and no body.
  coord::v1::Response response;
  // The events of the revision this command created, in operation order; empty if
  // it created none (also for a duplicate).
  std::vector<StateEvent> events;
  // Sessions that ended by SessionExpire / SessionClose, in command order.
  std::vector<int64_t> expired_sessions;
  std::vector<int64_t> closed_sessions;
  // True if the command was a retry answered from the exactly-once table.
  bool duplicate = false;
  // Locks: queued acquires granted by this command (lock name order, then queue
  // order; an acquire granted at once is only in the response), queued acquires
  // that left the queue without a grant, and acquires this command queued.
  std::vector<LockGrant> lock_grants;
  std::vector<LockWaitEnded> lock_waits_ended;
  std::vector<LockWaitState> lock_waits_queued;
  // Elections whose leader changed or proclaimed, in election name order.
  std::vector<ElectionChange> election_changes;
  // A txn was refused by a LOCK_TOKEN compare (a fencing rejection).
  bool fencing_rejected = false;
  // 2PC: transactions begun (prepare notifications), decided, timers to start
  // (a begin starts its timeout, a decision its retention), and transactions
  // forgotten (their timers can go), each in txn id order.
  std::vector<TpcPrepare> tpc_prepares;
  std::vector<TpcDecision> tpc_decisions;
  std::vector<TpcTimer> tpc_timers;
  std::vector<uint64_t> tpc_forgotten;
};

// A slice of the event log for watch catch-up.
struct EventBatch {
  // Matching events in revision order (then operation order). A batch never splits
  // a revision.
  std::vector<StateEvent> events;
  // Where to continue: the first revision not covered by this batch.
  int64_t next_revision = 0;
};

// A session as the leader's expiry tracker needs it.
struct SessionState {
  int64_t session_id = 0;
  int64_t ttl_ms = 0;
  int64_t remaining_ms = 0;    // as of the last create, keepalive or checkpoint
  uint64_t renewed_index = 0;  // Raft index of the last create or keepalive
};

// Maps a Status to the API's Error; COMPACTED carries `compacted_revision`.
coord::v1::Error ErrorFromStatus(const Status& status, int64_t compacted_revision);

class StateMachine {
 public:
  explicit StateMachine(StateMachineOptions options = {});
  ~StateMachine();
  StateMachine(const StateMachine&) = delete;
  StateMachine& operator=(const StateMachine&) = delete;

  // Applies the committed command at `raft_index`. Indexes must increase (gaps are
  // fine: entries without a command need not be applied, see AdvanceIndex). An
  // index <= last_applied_index() is a driver bug: nothing changes and the result
  // carries an INTERNAL error.
  //
  // Errors in the response (the command then changed nothing but the index and,
  // for a client command, the dedup table):
  //   INVALID_ARGUMENT  empty key or lock/election name, bad range, negative
  //                     ids/limits/timeouts, no body, a txn writing a key twice,
  //                     sequence 0 with a client id, compact beyond the head
  //                     revision;
  //   TOO_LARGE         key, name, value or txn over the limits in the options
  //                     (names use max_key_bytes, election values max_value_bytes);
  //   SESSION_EXPIRED   put naming a session that does not exist (any more), or
  //                     keepalive/close of a session that has ended;
  //   NOT_FOUND         keepalive/close of a session id never issued;
  //   COMPACTED         compact at or below, or a txn range read below, the
  //                     compacted revision;
  //   CONFLICT          a stale sequence (see "Exactly-once writes"); a
  //                     try-acquire of a lock held by others (or with waiters);
  //                     an acquire in the other mode by a session that holds or
  //                     waits; a proclaim by a candidate that is not the leader;
  //                     a txn with conflict_on_failure whose compares fail;
  //   NOT_FOUND         (also) release by a session that neither holds nor waits,
  //                     revoke of a lock nobody holds, resign/proclaim by a
  //                     session that is not a candidate;
  //   SESSION_EXPIRED   (also) a lock or election command naming a session that
  //                     does not exist (any more).
  //   2PC and topics    tpc_begin: INVALID_ARGUMENT (no participants, an empty or
  //                     repeated name, negative timeout), TOO_LARGE (names,
  //                     payload, participant count). tpc_vote / tpc_ack:
  //                     INVALID_ARGUMENT (txn id 0, vote NONE), NOT_FOUND (txn
  //                     never begun or forgotten), PERMISSION_DENIED (not a
  //                     participant), CONFLICT (a changed vote, a vote
  //                     contradicting the decision, an ack before the decision).
  //                     A repeated identical vote or ack succeeds again.
  //                     topic_commit_offset: INVALID_ARGUMENT (empty topic or
  //                     consumer, '/' in consumer, negative offsets), CONFLICT
  //                     (the committed offset is not `expected`). topic_trim:
  //                     INVALID_ARGUMENT (empty topic, negative numbers),
  //                     CONFLICT (a consumer's offset key is not a decimal). A txn append:
  //                     INVALID_ARGUMENT (empty topic), TOO_LARGE.
  // A txn whose compares fail is not an error: txn.succeeded = false.
  ApplyResult Apply(uint64_t raft_index, const coord::state::Command& command);

  // Records that Raft entry `raft_index` carried no command (a leader's no-op, a
  // membership change), so last_applied_index() matches the Raft applied index.
  // Ignored if raft_index <= last_applied_index().
  void AdvanceIndex(uint64_t raft_index);

  // ---- Reads (no state change) ----

  // A range read at the current revision or a past one (request.revision). Errors:
  // INVALID_ARGUMENT (empty key without prefix, negative limit or revision, a future
  // revision, range_end <= key), TOO_LARGE (key over the limit, or the result
  // would take more than about max_result_bytes: the caller should paginate),
  // COMPACTED.
  coord::v1::Response Range(const coord::v1::RangeRequest& request,
                            size_t max_result_bytes = SIZE_MAX) const;

  // True if every op of both branches is a range: the txn changes nothing and can
  // be served by ReadTxn instead of the log.
  static bool IsReadOnlyTxn(const coord::v1::TxnRequest& txn);
  // A read-only txn at the current revision, with the same result a logged one
  // would have had. Errors: those of a txn, INVALID_ARGUMENT if it writes,
  // TOO_LARGE past max_result_bytes (as for Range).
  coord::v1::Response ReadTxn(const coord::v1::TxnRequest& request,
                              size_t max_result_bytes = SIZE_MAX) const;

  // The events after a watch's position: every event with revision >=
  // start_revision on the key / range / prefix (same rules as RangeRequest), at most
  // `max_events` (0 = no limit) except that the first revision is always whole.
  // Errors: COMPACTED if start_revision <= compacted_revision(); INVALID_ARGUMENT
  // for start_revision < 1 or a bad range. A start above revision() yields no events
  // and next_revision = start_revision.
  Result<EventBatch> EventsSince(int64_t start_revision, std::string_view key,
                                 std::string_view range_end, bool prefix, size_t max_events) const;

  // Validates a watch and, with request.list, lists its current values atomically:
  // the body is watch_create {kvs (with list), list_revision = revision()}; events
  // for the watch start at list_revision + 1 (or at start_revision without list).
  // watch_id is left 0 for the watch hub. Errors as Range / EventsSince.
  coord::v1::Response ListForWatch(const coord::v1::WatchCreateRequest& request) const;

  // Live sessions in id order (for the leader's expiry tracker).
  std::vector<SessionState> Sessions() const;
  // Whether session `id` is live.
  bool HasSession(int64_t id) const;
  // The API view of the sessions, in id order, with their keys if `with_keys`.
  coord::v1::SessionListResponse ListSessions(bool with_keys) const;
  // One page of it (SessionListRequest): ids above request.after_session_id, at
  // most request.limit (0: kDefaultSessionPage, capped at kMaxSessionPage) and at
  // most `max_bytes` of encoded sessions (always at least one); `more` is set when
  // sessions are left. Errors: kInvalidArgument for a negative limit or
  // after_session_id, as for ranges.
  static constexpr int64_t kDefaultSessionPage = 1000;
  static constexpr int64_t kMaxSessionPage = 10'000;
  Result<coord::v1::SessionListResponse> ListSessions(
      const coord::v1::SessionListRequest& request, size_t max_bytes) const;

  // ---- Locks and elections (reads) ----

  // lock_inspect: the lock's holders, tokens, mode and queue. Errors:
  // INVALID_ARGUMENT (empty name), NOT_FOUND (no lock of that name was ever
  // acquired). A free lock that existed answers with no holders and its last_token.
  coord::v1::Response LockInspect(const coord::v1::LockInspectRequest& request) const;
  // lock_list: locks held or waited on whose name starts with `prefix`, in name
  // order, at most `limit` (0 = all). Errors: INVALID_ARGUMENT (negative limit).
  coord::v1::Response LockList(const coord::v1::LockListRequest& request) const;
  // election_leader: the current leader. Errors: INVALID_ARGUMENT (empty name),
  // NOT_FOUND (no leader now; the message names the last term).
  coord::v1::Response ElectionLeader(const coord::v1::ElectionLeaderRequest& request) const;
  // Every queued lock acquire (lock name order, then queue order), for a new
  // leader's wait-deadline timer.
  std::vector<LockWaitState> LockWaits() const;
  // ---- 2PC transactions and topics (reads) ----

  // tpc_get: state, votes, acknowledgements and payload. Errors: INVALID_ARGUMENT
  // (txn id 0), NOT_FOUND (never begun, or forgotten).
  coord::v1::Response TpcGet(const coord::v1::TpcGetRequest& request) const;
  // tpc_list: see coord.proto TpcListRequest. Errors: INVALID_ARGUMENT (negative
  // limit), TOO_LARGE (participant name over max_key_bytes).
  coord::v1::Response TpcList(const coord::v1::TpcListRequest& request) const;
  // The timer of every remembered transaction (txn id order), for a new leader:
  // kTimeout with the full timeout_ms for PREPARING ones (a failover can lengthen
  // a timeout, never shorten it), kForget with tpc_retention_ms for decided ones.
  std::vector<TpcTimer> PendingTxnDeadlines() const;
  // True once a MemberRetire for `member_id` was applied: a removed member's id,
  // never to be added again.
  bool IsRetiredMember(uint64_t member_id) const;
  // topic_read: records of a topic from an offset. Errors: INVALID_ARGUMENT (empty
  // topic, negative offset or limit), TOO_LARGE (topic leaves no room for the
  // offset within max_key_bytes).
  coord::v1::Response TopicRead(const coord::v1::TopicReadRequest& request) const;

  // ---- Access control (auth_ops.cc; docs/security.md) ----

  // OK if `user` (empty: not authenticated) may send `request` now: always while
  // auth is disabled; UNAUTHENTICATED without a known user, PERMISSION_DENIED
  // without the rights. Writes are checked again when applied (Command.user).
  Status Authorize(std::string_view user, const coord::v1::Request& request) const;
  // Whether a watch of `user` may deliver an event of `key`.
  bool MayReadKey(std::string_view user, std::string_view key) const;
  bool auth_enabled() const;
  // The token signing key (empty while auth is disabled).
  const std::string& auth_signing_key() const;
  // A user's password record and generation; nullptr if there is no such user.
  const UserEntry* FindUser(std::string_view name) const;
  std::vector<std::string> RolesOf(std::string_view user) const;
  coord::v1::UserListResponse ListUsers(std::string_view name) const;
  coord::v1::RoleListResponse ListRoles(std::string_view name) const;

  // Txns refused by a LOCK_TOKEN compare since this instance was built (not
  // replicated; kept across Restore).
  uint64_t fencing_rejections() const;

  int64_t revision() const;
  int64_t compacted_revision() const;
  uint64_t last_applied_index() const;
  // Number of live keys.
  size_t key_count() const;
  // Number of clients in the exactly-once table.
  size_t dedup_clients() const;

  // ---- Snapshots ----

  // The whole state (keys with their history window, event log, sessions, dedup
  // table, counters, last applied index) as bytes. Deterministic: equal states give
  // equal bytes.
  std::string Snapshot() const;

  // Replaces the whole state with a snapshot taken by Snapshot(). On error
  // (CORRUPTION: undecodable bytes or broken invariants) the state is unchanged.
  Status Restore(std::string_view snapshot);

 private:
  class Impl;  // coord/src/state/state_machine_impl.h
  StateMachineOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coord::server
