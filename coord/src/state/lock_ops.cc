// Locks: validation and the API shape of acquire, release, revoke, wait timeout,
// inspect and list, on top of LockTable.
//
// Validation runs before LockTable is touched, so a failing command changes
// nothing (besides the index and the dedup table).
#include <string>
#include <utility>
#include <vector>

#include "state/state_machine_impl.h"

namespace coord::server {

Status StateMachine::Impl::CheckName(std::string_view name, const char* what) const {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " name must not be empty");
  if (name.size() > options_.max_key_bytes) {
    return Status::TooLarge(std::string(what) + " name of " + std::to_string(name.size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(options_.max_key_bytes));
  }
  return Status::Ok();
}

Status StateMachine::Impl::CheckLiveSession(int64_t id) const {
  if (id <= 0) return Status::InvalidArgument("session id must be positive");
  if (sessions_.Find(id) == nullptr) {
    return Status(StatusCode::kSessionExpired,
                  "session " + std::to_string(id) + " does not exist or has ended");
  }
  return Status::Ok();
}

Status StateMachine::Impl::LockAcquire(const coord::v1::LockAcquireRequest& req,
                                       uint64_t raft_index, coord::v1::LockAcquireResponse* out,
                                       ApplyResult* result) {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "lock"));
  if (req.wait_timeout_ms() < 0) {
    return Status::InvalidArgument("wait_timeout_ms must not be negative");
  }
  if (!req.wait() && req.wait_timeout_ms() != 0) {
    return Status::InvalidArgument("wait_timeout_ms needs wait = true");
  }
  COORD_RETURN_IF_ERROR(CheckLiveSession(req.session()));
  Result<LockTable::AcquireOutcome> outcome = locks_.Acquire(
      req.name(), req.session(), req.shared(), req.wait(), req.wait_timeout_ms(), raft_index);
  if (!outcome.ok()) return outcome.status();
  out->set_granted(outcome->granted);
  out->set_token(outcome->token);
  out->set_position(outcome->position);
  out->set_acquire_index(outcome->acquire_index);
  // Only a new wait starts a deadline; a repeated acquire keeps the first one.
  if (!outcome->granted && outcome->acquire_index == raft_index) {
    result->lock_waits_queued.push_back(
        LockWaitState{req.name(), req.session(), raft_index, req.wait_timeout_ms()});
  }
  return Status::Ok();
}

Status StateMachine::Impl::LockRelease(const coord::v1::LockReleaseRequest& req,
                                       coord::v1::LockReleaseResponse* out, ApplyResult* result) {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "lock"));
  COORD_RETURN_IF_ERROR(CheckLiveSession(req.session()));
  bool was_holder = false;
  COORD_RETURN_IF_ERROR(locks_.Release(req.name(), req.session(), &was_holder, &result->lock_grants,
                                       &result->lock_waits_ended));
  out->set_was_holder(was_holder);
  return Status::Ok();
}

Status StateMachine::Impl::LockRevoke(const coord::v1::LockRevokeRequest& req,
                                      coord::v1::LockRevokeResponse* out, ApplyResult* result) {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "lock"));
  Result<std::vector<int64_t>> revoked = locks_.Revoke(req.name(), &result->lock_grants);
  if (!revoked.ok()) return revoked.status();
  for (int64_t session : *revoked) out->add_revoked_sessions(session);
  return Status::Ok();
}

void StateMachine::Impl::LockWaitTimeout(const coord::state::LockWaitTimeout& req,
                                         ApplyResult* result) {
  // Leader-proposed: a stale decision (granted or gone meanwhile) is a no-op.
  locks_.TimeoutWait(req.name(), req.session(), req.acquire_index(), &result->lock_grants,
                     &result->lock_waits_ended);
}

Result<coord::v1::LockInspectResponse> StateMachine::Impl::LockInspect(
    const coord::v1::LockInspectRequest& req) const {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "lock"));
  const Lock* lock = locks_.Find(req.name());
  if (lock == nullptr) return Status::NotFound("no lock \"" + req.name() + "\"");
  coord::v1::LockInspectResponse out;
  *out.mutable_lock() = lock->ToInfo(req.name());
  return out;
}

Result<coord::v1::LockListResponse> StateMachine::Impl::LockList(
    const coord::v1::LockListRequest& req) const {
  if (req.limit() < 0) return Status::InvalidArgument("limit must not be negative");
  coord::v1::LockListResponse out;
  const auto& locks = locks_.locks();
  for (auto it = locks.lower_bound(req.prefix()); it != locks.end(); ++it) {
    if (it->first.compare(0, req.prefix().size(), req.prefix()) != 0) break;
    if (it->second.holders.empty()) continue;  // free (no holders implies no waiters)
    if (req.limit() != 0 && out.locks_size() == req.limit()) {
      out.set_more(true);
      break;
    }
    *out.add_locks() = it->second.ToInfo(it->first);
  }
  return out;
}

int64_t StateMachine::Impl::LockToken(std::string_view name) const {
  const Lock* lock = locks_.Find(name);
  return lock == nullptr ? 0 : lock->CurrentToken();
}

}  // namespace coord::server
