// StateMachine::Impl: the tables of the state machine and the operations on them.
// The operations are split by concern across state_machine.cc (dispatch, dedup,
// reads), kv_ops.cc (put/delete/range/compact), txn.cc, session_ops.cc,
// lock_ops.cc, election_ops.cc, tpc_ops.cc, topic_ops.cc and snapshot.cc.
//
// Every write follows validate-then-execute: all checks that can fail run before
// the first change, so a command either applies completely or not at all.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "coord/server/state_machine.h"
#include "state/auth_table.h"
#include "state/dedup_table.h"
#include "state/election_table.h"
#include "state/key_space.h"
#include "state/lock_table.h"
#include "state/session_table.h"
#include "state/tpc_table.h"

namespace coord::server {

// What a served (not replicated) read may still put in its reply.
struct ReadBudget {
  size_t left = 0;
  bool exceeded = false;
  // Takes `bytes`; false (and exceeded) if they do not fit.
  bool Take(size_t bytes) {
    if (bytes > left) {
      exceeded = true;
      return false;
    }
    left -= bytes;
    return true;
  }
};

class StateMachine::Impl {
 public:
  explicit Impl(const StateMachineOptions& options)
      : options_(options), dedup_(options.max_dedup_clients) {}

  // ---- state_machine.cc ----
  ApplyResult Apply(uint64_t raft_index, const coord::state::Command& command);
  void AdvanceIndex(uint64_t raft_index);
  // A response with the current header and no body.
  coord::v1::Response NewResponse() const;
  void SetError(const Status& status, coord::v1::Response* response) const;

  // ---- kv_ops.cc ----
  Status CheckKey(std::string_view key) const;
  Status ValidatePut(const coord::v1::PutRequest& put) const;
  Status ValidateRange(const coord::v1::RangeRequest& range) const;
  Status ValidateDelete(const coord::v1::DeleteRequest& del) const;
  // Executions assume a validated request; writes happen at `revision`.
  coord::v1::PutResponse ExecPut(const coord::v1::PutRequest& put, int64_t revision);
  coord::v1::DeleteResponse ExecDelete(const coord::v1::DeleteRequest& del, int64_t revision);
  // `budget` (optional) is the bytes the result may still take; a result that
  // would need more sets budget->exceeded and stops early (the result is then
  // incomplete and must not be used).
  coord::v1::RangeResponse ExecRange(const coord::v1::RangeRequest& range,
                                     ReadBudget* budget = nullptr) const;
  Status Compact(const coord::v1::CompactRequest& compact);
  void AutoCompact();
  // Deletes `key` at `revision`, keeping the owner's key set in step.
  bool DeleteKey(const std::string& key, int64_t revision);
  Result<EventBatch> EventsSince(int64_t start_revision, std::string_view key,
                                 std::string_view range_end, bool prefix, size_t max_events) const;
  Result<coord::v1::WatchCreateResponse> ListForWatch(
      const coord::v1::WatchCreateRequest& request) const;
  // The next sequential key for `prefix`: bumps *counter until the key is free.
  template <typename ExistsFn>
  static std::string NextSequentialKey(const std::string& prefix, uint64_t* counter,
                                       ExistsFn&& exists) {
    std::string key;
    do {
      ++*counter;
      key = prefix + PadSequence(*counter);
    } while (exists(key));
    return key;
  }
  static std::string PadSequence(uint64_t n);

  // ---- txn.cc ----
  Status ValidateTxn(const coord::v1::TxnRequest& txn) const;
  bool CompareHolds(const coord::v1::Compare& compare) const;
  // TOO_LARGE if the branch's ranges could return more than max_txn_result_bytes.
  Status CheckTxnResultSize(const google::protobuf::RepeatedPtrField<coord::v1::TxnOp>& ops) const;
  // A txn whose ops are all ranges, served without the log (TOO_LARGE past `budget`).
  Result<coord::v1::TxnResponse> ReadTxn(const coord::v1::TxnRequest& txn,
                                         ReadBudget* budget) const;
  // Checks that the chosen branch writes no key twice (given the current state).
  Status PlanTxnBranch(const google::protobuf::RepeatedPtrField<coord::v1::TxnOp>& ops) const;
  // *fencing_rejected: the compare that failed was a LOCK_TOKEN compare.
  Result<coord::v1::TxnResponse> Txn(const coord::v1::TxnRequest& txn, bool* fencing_rejected);
  // A failed compare as text, for conflict_on_failure.
  std::string DescribeFailedCompare(const coord::v1::Compare& compare) const;

  // ---- session_ops.cc ----
  int64_t ClampTtl(int64_t ttl_ms) const;
  Status SessionCreate(const coord::v1::SessionCreateRequest& req, uint64_t raft_index,
                       coord::v1::SessionCreateResponse* out);
  Status SessionKeepAlive(const coord::v1::SessionKeepAliveRequest& req, uint64_t raft_index,
                          coord::v1::SessionKeepAliveResponse* out);
  Status SessionClose(const coord::v1::SessionCloseRequest& req, ApplyResult* result);
  void SessionExpire(const coord::state::SessionExpire& req, ApplyResult* result);
  void SessionCheckpoint(const coord::state::SessionCheckpoint& req);
  // Deletes the sessions' keys at one new revision, releases their locks and
  // waits, withdraws their candidacies (grants and leader changes into *result),
  // and removes the sessions.
  void EndSessions(const std::vector<int64_t>& ids, ApplyResult* result);
  Status UnknownSession(int64_t id) const;

  // ---- lock_ops.cc ----
  // INVALID_ARGUMENT for an empty name, TOO_LARGE over max_key_bytes.
  Status CheckName(std::string_view name, const char* what) const;
  // INVALID_ARGUMENT for id <= 0, SESSION_EXPIRED if the session is not live.
  Status CheckLiveSession(int64_t id) const;
  Status LockAcquire(const coord::v1::LockAcquireRequest& req, uint64_t raft_index,
                     coord::v1::LockAcquireResponse* out, ApplyResult* result);
  Status LockRelease(const coord::v1::LockReleaseRequest& req, coord::v1::LockReleaseResponse* out,
                     ApplyResult* result);
  Status LockRevoke(const coord::v1::LockRevokeRequest& req, coord::v1::LockRevokeResponse* out,
                    ApplyResult* result);
  void LockWaitTimeout(const coord::state::LockWaitTimeout& req, ApplyResult* result);
  Result<coord::v1::LockInspectResponse> LockInspect(
      const coord::v1::LockInspectRequest& req) const;
  Result<coord::v1::LockListResponse> LockList(const coord::v1::LockListRequest& req) const;
  // The current token of lock `name` (highest held), 0 when free or unknown.
  int64_t LockToken(std::string_view name) const;

  // ---- election_ops.cc ----
  Status ElectionCampaign(const coord::v1::ElectionCampaignRequest& req, uint64_t raft_index,
                          coord::v1::ElectionCampaignResponse* out, ApplyResult* result);
  Status ElectionResign(const coord::v1::ElectionResignRequest& req, ApplyResult* result);
  Status ElectionProclaim(const coord::v1::ElectionProclaimRequest& req,
                          coord::v1::ElectionProclaimResponse* out, ApplyResult* result);
  Result<coord::v1::ElectionLeaderResponse> ElectionLeaderOf(
      const coord::v1::ElectionLeaderRequest& req) const;

  // ---- tpc_ops.cc ----
  Status TpcBegin(const coord::v1::TpcBeginRequest& req, uint64_t raft_index,
                  coord::v1::TpcBeginResponse* out, ApplyResult* result);
  Status TpcVote(const coord::v1::TpcVoteRequest& req, uint64_t raft_index,
                 coord::v1::TpcVoteResponse* out, ApplyResult* result);
  Status TpcAck(const coord::v1::TpcAckRequest& req, coord::v1::TpcAckResponse* out,
                ApplyResult* result);
  void TpcTimeout(const coord::state::TpcTimeout& req, uint64_t raft_index, ApplyResult* result);
  void TpcForget(const coord::state::TpcForget& req, ApplyResult* result);
  Result<coord::v1::TpcGetResponse> TpcGet(const coord::v1::TpcGetRequest& req) const;
  Result<coord::v1::TpcListResponse> TpcList(const coord::v1::TpcListRequest& req) const;
  int64_t ClampTpcTimeout(int64_t timeout_ms) const;
  // Reports a decision (into *result) and mirrors it into the txn's key.
  void AfterTpcDecision(uint64_t id, ApplyResult* result);
  // Forgets a decided txn and deletes its key.
  void ForgetTpc(uint64_t id, ApplyResult* result);
  static std::string TpcKey(uint64_t id);

  // ---- topic_ops.cc ----
  Status ValidateAppend(const coord::v1::AppendRequest& append) const;
  // A validated append as the sequential put it is.
  static coord::v1::PutRequest AppendAsPut(const coord::v1::AppendRequest& append);
  coord::v1::AppendResponse ExecAppend(const coord::v1::AppendRequest& append, int64_t revision);
  Result<coord::v1::TopicReadResponse> TopicRead(const coord::v1::TopicReadRequest& req) const;
  Status TopicCommitOffset(const coord::v1::TopicCommitOffsetRequest& req,
                           coord::v1::TopicCommitOffsetResponse* out);
  Status TopicTrim(const coord::v1::TopicTrimRequest& req, coord::v1::TopicTrimResponse* out);

  // ---- auth_ops.cc ----
  // UNAUTHENTICATED while auth is enabled and `user` is empty or unknown.
  Status Authenticated(std::string_view user) const;
  // PERMISSION_DENIED / UNAUTHENTICATED if Command.user may not run the command.
  Status AuthorizeCommand(const coord::state::Command& command) const;
  Status AuthorizeRequest(std::string_view user, const coord::v1::Request& request) const;
  bool MayReadKey(std::string_view user, std::string_view key) const;

  // ---- snapshot.cc ----
  std::string Snapshot() const;
  static Result<std::unique_ptr<Impl>> FromSnapshot(std::string_view bytes,
                                                    const StateMachineOptions& options);

  StateMachineOptions options_;
  KeySpace keys_;
  SessionTable sessions_;
  DedupTable dedup_;
  LockTable locks_;
  ElectionTable elections_;
  TpcTable tpc_;
  AuthTable auth_;
  std::set<uint64_t> retired_members_;  // MemberRetire: ids never to be re-added
  uint64_t last_applied_ = 0;
  // Statistics, not replicated state (not in snapshots).
  uint64_t fencing_rejections_ = 0;
};

}  // namespace coord::server
