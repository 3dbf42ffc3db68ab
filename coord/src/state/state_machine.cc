// StateMachine: command dispatch, the exactly-once check, and the public reads.
#include "coord/server/state_machine.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "state/check.h"
#include "state/state_machine_impl.h"

namespace coord::server {

void StateInvariantFailed(const char* file, int line, const char* what) {
  std::fprintf(stderr, "coord state machine invariant failed at %s:%d: %s\n", file, line, what);
  std::abort();
}

coord::v1::Error ErrorFromStatus(const Status& status, int64_t compacted_revision) {
  coord::v1::Error error;
  coord::v1::ErrorCode code = coord::v1::INTERNAL;
  switch (status.code()) {
    case StatusCode::kOk:
      code = coord::v1::OK;
      break;
    case StatusCode::kInvalidArgument:
      code = coord::v1::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotFound:
      code = coord::v1::NOT_FOUND;
      break;
    case StatusCode::kCompacted:
      code = coord::v1::COMPACTED;
      break;
    case StatusCode::kSessionExpired:
      code = coord::v1::SESSION_EXPIRED;
      break;
    case StatusCode::kConflict:
      code = coord::v1::CONFLICT;
      break;
    case StatusCode::kTimeout:
      code = coord::v1::TIMEOUT;
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kNotLeader:
    case StatusCode::kAborted:
      code = coord::v1::UNAVAILABLE;
      break;
    case StatusCode::kTooLarge:
      code = coord::v1::TOO_LARGE;
      break;
    case StatusCode::kPermissionDenied:
      code = coord::v1::PERMISSION_DENIED;
      break;
    case StatusCode::kUnauthenticated:
      code = coord::v1::UNAUTHENTICATED;
      break;
    case StatusCode::kResourceExhausted:
      code = coord::v1::RESOURCE_EXHAUSTED;
      break;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal:
      code = coord::v1::INTERNAL;
      break;
  }
  error.set_code(code);
  error.set_message(status.message());
  if (status.code() == StatusCode::kCompacted) error.set_compacted_revision(compacted_revision);
  return error;
}

// ---- Impl: dispatch -------------------------------------------------------------

coord::v1::Response StateMachine::Impl::NewResponse() const {
  coord::v1::Response response;
  response.mutable_header()->set_revision(keys_.revision());
  response.mutable_header()->set_compacted_revision(keys_.compacted_revision());
  return response;
}

void StateMachine::Impl::SetError(const Status& status, coord::v1::Response* response) const {
  response->clear_body();
  *response->mutable_error() = ErrorFromStatus(status, keys_.compacted_revision());
}

void StateMachine::Impl::AdvanceIndex(uint64_t raft_index) {
  if (raft_index > last_applied_) last_applied_ = raft_index;
}

ApplyResult StateMachine::Impl::Apply(uint64_t raft_index, const coord::state::Command& command) {
  ApplyResult result;
  if (raft_index <= last_applied_) {
    result.response = NewResponse();
    SetError(
        Status::Internal("raft index " + std::to_string(raft_index) +
                         " already applied (last applied " + std::to_string(last_applied_) + ")"),
        &result.response);
    return result;
  }
  last_applied_ = raft_index;

  const LaneId lane{command.client_id(), command.client_incarnation()};
  const bool deduplicated = lane.client_id != 0;
  if (deduplicated) {
    if (command.sequence() == 0) {
      result.response = NewResponse();
      SetError(Status::InvalidArgument("sequence must be >= 1 when client_id is set"),
               &result.response);
      return result;
    }
    if (const DedupTable::Entry* entry = dedup_.Find(lane)) {
      if (command.sequence() == entry->sequence) {
        // A retry of the last write: answer it again, change nothing else.
        result.response = entry->response;
        result.duplicate = true;
        dedup_.Touch(lane, raft_index);
        return result;
      }
      if (command.sequence() < entry->sequence) {
        uint64_t last = entry->sequence;
        dedup_.Touch(lane, raft_index);
        result.response = NewResponse();
        SetError(Status::Conflict("stale sequence " + std::to_string(command.sequence()) +
                                  " of client " + LaneName(lane) + " (last applied " +
                                  std::to_string(last) + ")"),
                 &result.response);
        return result;
      }
    }
  }

  const int64_t before = keys_.revision();
  const int64_t next = before + 1;
  coord::v1::Response response;
  Status status = AuthorizeCommand(command);
  // A refused login or right is not remembered for exactly-once: the command was
  // certainly not applied, and the client may retry it with the same sequence
  // once it authenticated again or was granted the right.
  const bool auth_refused = !status.ok();
  using Cmd = coord::state::Command;
  switch (status.ok() ? command.body_case() : Cmd::BODY_NOT_SET) {
    case Cmd::kPut:
      status = ValidatePut(command.put());
      if (status.ok()) *response.mutable_put() = ExecPut(command.put(), next);
      break;
    case Cmd::kDelete:
      status = ValidateDelete(command.delete_());
      if (status.ok()) *response.mutable_delete_() = ExecDelete(command.delete_(), next);
      break;
    case Cmd::kTxn: {
      Result<coord::v1::TxnResponse> txn = Txn(command.txn(), &result.fencing_rejected);
      if (txn.ok()) {
        *response.mutable_txn() = std::move(*txn);
      } else {
        status = txn.status();
      }
      break;
    }
    case Cmd::kCompact:
      status = Compact(command.compact());
      if (status.ok()) {
        response.mutable_compact()->set_compacted_revision(keys_.compacted_revision());
      }
      break;
    case Cmd::kSessionCreate:
      status =
          SessionCreate(command.session_create(), raft_index, response.mutable_session_create());
      break;
    case Cmd::kSessionKeepalive:
      status = SessionKeepAlive(command.session_keepalive(), raft_index,
                                response.mutable_session_keepalive());
      break;
    case Cmd::kSessionClose:
      status = SessionClose(command.session_close(), &result);
      if (status.ok()) response.mutable_session_close();
      break;
    case Cmd::kSessionExpire:
      SessionExpire(command.session_expire(), &result);
      break;
    case Cmd::kSessionCheckpoint:
      SessionCheckpoint(command.session_checkpoint());
      break;
    case Cmd::kLockAcquire:
      status =
          LockAcquire(command.lock_acquire(), raft_index, response.mutable_lock_acquire(), &result);
      break;
    case Cmd::kLockRelease:
      status = LockRelease(command.lock_release(), response.mutable_lock_release(), &result);
      break;
    case Cmd::kLockRevoke:
      status = LockRevoke(command.lock_revoke(), response.mutable_lock_revoke(), &result);
      break;
    case Cmd::kLockWaitTimeout:
      LockWaitTimeout(command.lock_wait_timeout(), &result);
      break;
    case Cmd::kElectionCampaign:
      status = ElectionCampaign(command.election_campaign(), raft_index,
                                response.mutable_election_campaign(), &result);
      break;
    case Cmd::kElectionResign:
      status = ElectionResign(command.election_resign(), &result);
      if (status.ok()) response.mutable_election_resign();
      break;
    case Cmd::kElectionProclaim:
      status = ElectionProclaim(command.election_proclaim(), response.mutable_election_proclaim(),
                                &result);
      break;
    case Cmd::kTpcBegin:
      status = TpcBegin(command.tpc_begin(), raft_index, response.mutable_tpc_begin(), &result);
      break;
    case Cmd::kTpcVote:
      status = TpcVote(command.tpc_vote(), raft_index, response.mutable_tpc_vote(), &result);
      break;
    case Cmd::kTpcAck:
      status = TpcAck(command.tpc_ack(), response.mutable_tpc_ack(), &result);
      break;
    case Cmd::kTpcTimeout:
      TpcTimeout(command.tpc_timeout(), raft_index, &result);
      break;
    case Cmd::kTpcForget:
      TpcForget(command.tpc_forget(), &result);
      break;
    case Cmd::kTopicCommitOffset:
      status =
          TopicCommitOffset(command.topic_commit_offset(), response.mutable_topic_commit_offset());
      break;
    case Cmd::kTopicTrim:
      status = TopicTrim(command.topic_trim(), response.mutable_topic_trim());
      break;
    case Cmd::kMemberRetire:
      retired_members_.insert(command.member_retire().member_id());
      break;
    case Cmd::kAuthSet:
      status = auth_.Set(command.auth_set());
      if (status.ok()) response.mutable_auth_set()->set_enabled(auth_.enabled());
      break;
    case Cmd::kUserChange:
      status = auth_.ChangeUser(command.user_change());
      if (status.ok()) response.mutable_user_change();
      break;
    case Cmd::kRoleChange:
      status = auth_.ChangeRole(command.role_change());
      if (status.ok()) response.mutable_role_change();
      break;
    case Cmd::BODY_NOT_SET:
      if (status.ok()) status = Status::InvalidArgument("command has no body");
      break;
  }
  // Validation precedes every change, so an error means nothing was written.
  COORD_STATE_CHECK(status.ok() || keys_.revision() == before);
  COORD_STATE_CHECK(status.ok() || (result.lock_grants.empty() && result.lock_waits_ended.empty() &&
                                    result.election_changes.empty()));
  COORD_STATE_CHECK(status.ok() || (result.tpc_prepares.empty() && result.tpc_decisions.empty() &&
                                    result.tpc_forgotten.empty()));
  if (result.fencing_rejected) ++fencing_rejections_;

  if (keys_.revision() != before) {
    const auto& log = keys_.events();
    for (size_t i = keys_.FirstEventAt(next); i < log.size(); ++i) {
      result.events.push_back(StateEvent{next, keys_.MakeEvent(log[i].key, next)});
    }
    AutoCompact();
  }

  coord::v1::Response header = NewResponse();
  *response.mutable_header() = header.header();
  if (!status.ok()) SetError(status, &response);
  result.response = std::move(response);
  if (deduplicated && !auth_refused) {
    dedup_.Record(lane, command.sequence(), raft_index, result.response);
  }
  return result;
}

// ---- StateMachine: forwarding ----------------------------------------------------

StateMachine::StateMachine(StateMachineOptions options)
    : options_(options), impl_(std::make_unique<Impl>(options)) {}

StateMachine::~StateMachine() = default;

ApplyResult StateMachine::Apply(uint64_t raft_index, const coord::state::Command& command) {
  return impl_->Apply(raft_index, command);
}

void StateMachine::AdvanceIndex(uint64_t raft_index) { impl_->AdvanceIndex(raft_index); }

namespace {
Status ReadTooLarge(size_t max_result_bytes) {
  return Status::TooLarge("the result is over the " + std::to_string(max_result_bytes) +
                          "-byte reply limit: read it in pages (limit, then continue after "
                          "the last key) or with keys_only / count_only");
}
}  // namespace

coord::v1::Response StateMachine::Range(const coord::v1::RangeRequest& request,
                                        size_t max_result_bytes) const {
  coord::v1::Response response = impl_->NewResponse();
  Status status = impl_->ValidateRange(request);
  ReadBudget budget{max_result_bytes};
  if (status.ok()) {
    *response.mutable_range() = impl_->ExecRange(request, &budget);
    if (budget.exceeded) status = ReadTooLarge(max_result_bytes);
  }
  if (!status.ok()) impl_->SetError(status, &response);
  return response;
}

coord::v1::Response StateMachine::ReadTxn(const coord::v1::TxnRequest& request,
                                          size_t max_result_bytes) const {
  coord::v1::Response response = impl_->NewResponse();
  ReadBudget budget{max_result_bytes};
  Result<coord::v1::TxnResponse> txn = impl_->ReadTxn(request, &budget);
  if (txn.ok()) {
    *response.mutable_txn() = std::move(*txn);
  } else {
    impl_->SetError(budget.exceeded ? ReadTooLarge(max_result_bytes) : txn.status(), &response);
  }
  return response;
}

Result<EventBatch> StateMachine::EventsSince(int64_t start_revision, std::string_view key,
                                             std::string_view range_end, bool prefix,
                                             size_t max_events) const {
  return impl_->EventsSince(start_revision, key, range_end, prefix, max_events);
}

coord::v1::Response StateMachine::ListForWatch(const coord::v1::WatchCreateRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::WatchCreateResponse> body = impl_->ListForWatch(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_watch_create() = std::move(*body);
  }
  return response;
}

bool StateMachine::HasSession(int64_t id) const { return impl_->sessions_.Find(id) != nullptr; }

std::vector<SessionState> StateMachine::Sessions() const {
  std::vector<SessionState> out;
  for (const auto& [id, s] : impl_->sessions_.sessions()) {
    out.push_back(SessionState{id, s.ttl_ms, s.remaining_ms, s.renewed_index});
  }
  return out;
}

namespace {

coord::v1::SessionInfo SessionInfoOf(int64_t id, const Session& s, bool with_keys) {
  coord::v1::SessionInfo info;
  info.set_session_id(id);
  info.set_ttl_ms(s.ttl_ms);
  info.set_remaining_ms(s.remaining_ms);
  if (with_keys) {
    for (const std::string& key : s.keys) info.add_keys(key);
  }
  return info;
}

}  // namespace

coord::v1::SessionListResponse StateMachine::ListSessions(bool with_keys) const {
  coord::v1::SessionListResponse out;
  for (const auto& [id, s] : impl_->sessions_.sessions()) {
    *out.add_sessions() = SessionInfoOf(id, s, with_keys);
  }
  return out;
}

Result<coord::v1::SessionListResponse> StateMachine::ListSessions(
    const coord::v1::SessionListRequest& request, size_t max_bytes) const {
  if (request.limit() < 0) return Status::InvalidArgument("limit must not be negative");
  if (request.after_session_id() < 0) {
    return Status::InvalidArgument("after_session_id must not be negative");
  }
  coord::v1::SessionListResponse out;
  int64_t limit = request.limit() <= 0 ? kDefaultSessionPage : request.limit();
  limit = std::min(limit, kMaxSessionPage);
  const auto& sessions = impl_->sessions_.sessions();
  size_t bytes = 0;
  for (auto it = sessions.upper_bound(request.after_session_id()); it != sessions.end(); ++it) {
    if (out.sessions_size() >= limit) {
      out.set_more(true);
      break;
    }
    coord::v1::SessionInfo info = SessionInfoOf(it->first, it->second, /*with_keys=*/true);
    const size_t size = info.ByteSizeLong();
    if (out.sessions_size() > 0 && bytes + size > max_bytes) {
      out.set_more(true);
      break;
    }
    bytes += size;
    *out.add_sessions() = std::move(info);
  }
  return out;
}

coord::v1::Response StateMachine::LockInspect(const coord::v1::LockInspectRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::LockInspectResponse> body = impl_->LockInspect(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_lock_inspect() = std::move(*body);
  }
  return response;
}

coord::v1::Response StateMachine::LockList(const coord::v1::LockListRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::LockListResponse> body = impl_->LockList(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_lock_list() = std::move(*body);
  }
  return response;
}

coord::v1::Response StateMachine::ElectionLeader(
    const coord::v1::ElectionLeaderRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::ElectionLeaderResponse> body = impl_->ElectionLeaderOf(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_election_leader() = std::move(*body);
  }
  return response;
}

std::vector<LockWaitState> StateMachine::LockWaits() const {
  std::vector<LockWaitState> out;
  for (const auto& [name, lock] : impl_->locks_.locks()) {
    for (const LockWaiterState& w : lock.waiters) {
      out.push_back(LockWaitState{name, w.session, w.acquire_index, w.wait_timeout_ms});
    }
  }
  return out;
}

coord::v1::Response StateMachine::TpcGet(const coord::v1::TpcGetRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::TpcGetResponse> body = impl_->TpcGet(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_tpc_get() = std::move(*body);
  }
  return response;
}

coord::v1::Response StateMachine::TpcList(const coord::v1::TpcListRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::TpcListResponse> body = impl_->TpcList(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_tpc_list() = std::move(*body);
  }
  return response;
}

bool StateMachine::IsRetiredMember(uint64_t member_id) const {
  return impl_->retired_members_.count(member_id) != 0;
}

std::vector<TpcTimer> StateMachine::PendingTxnDeadlines() const {
  std::vector<TpcTimer> out;
  for (const auto& [id, txn] : impl_->tpc_.txns()) {
    if (txn.decided()) {
      out.push_back(TpcTimer{id, TpcTimerKind::kForget, options_.tpc_retention_ms});
    } else {
      out.push_back(TpcTimer{id, TpcTimerKind::kTimeout, txn.timeout_ms});
    }
  }
  return out;
}

coord::v1::Response StateMachine::TopicRead(const coord::v1::TopicReadRequest& request) const {
  coord::v1::Response response = impl_->NewResponse();
  Result<coord::v1::TopicReadResponse> body = impl_->TopicRead(request);
  if (!body.ok()) {
    impl_->SetError(body.status(), &response);
  } else {
    *response.mutable_topic_read() = std::move(*body);
  }
  return response;
}

Status StateMachine::Authorize(std::string_view user, const coord::v1::Request& request) const {
  return impl_->AuthorizeRequest(user, request);
}

bool StateMachine::MayReadKey(std::string_view user, std::string_view key) const {
  return impl_->MayReadKey(user, key);
}

bool StateMachine::auth_enabled() const { return impl_->auth_.enabled(); }
const std::string& StateMachine::auth_signing_key() const { return impl_->auth_.signing_key(); }
const UserEntry* StateMachine::FindUser(std::string_view name) const {
  return impl_->auth_.FindUser(name);
}
std::vector<std::string> StateMachine::RolesOf(std::string_view user) const {
  return impl_->auth_.RolesOf(user);
}
coord::v1::UserListResponse StateMachine::ListUsers(std::string_view name) const {
  return impl_->auth_.ListUsers(name);
}
coord::v1::RoleListResponse StateMachine::ListRoles(std::string_view name) const {
  return impl_->auth_.ListRoles(name);
}

uint64_t StateMachine::fencing_rejections() const { return impl_->fencing_rejections_; }

int64_t StateMachine::revision() const { return impl_->keys_.revision(); }
int64_t StateMachine::compacted_revision() const { return impl_->keys_.compacted_revision(); }
uint64_t StateMachine::last_applied_index() const { return impl_->last_applied_; }
size_t StateMachine::key_count() const { return impl_->keys_.live_keys(); }
size_t StateMachine::dedup_clients() const { return impl_->dedup_.size(); }

std::string StateMachine::Snapshot() const { return impl_->Snapshot(); }

Status StateMachine::Restore(std::string_view snapshot) {
  Result<std::unique_ptr<Impl>> restored = Impl::FromSnapshot(snapshot, options_);
  if (!restored.ok()) return restored.status();
  // Statistics describe this instance, not the replicated state: keep them.
  (*restored)->fencing_rejections_ = impl_->fencing_rejections_;
  impl_ = std::move(*restored);
  return Status::Ok();
}

}  // namespace coord::server
