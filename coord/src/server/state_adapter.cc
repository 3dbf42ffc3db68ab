#include "server/state_adapter.h"

#include <mutex>

namespace coord::server {

StateAdapter::StateAdapter(StateMachineOptions options, WatchHub* hub, SessionTracker* tracker)
    : sm_(options), hub_(hub), tracker_(tracker) {}

std::string EncodeCommand(coord::state::Command command) {
  // Written in the oldest format that holds it, so members one version behind
  // keep applying what they would apply the same way.
  const bool auth = !command.user().empty() || command.has_auth_set() ||
                    command.has_user_change() || command.has_role_change();
  command.set_format(auth                                ? kCommandFormatAuth
                     : command.has_member_retire()        ? kCommandFormatMemberRetire
                     : command.client_incarnation() != 0 ? kCommandFormatIncarnations
                                                         : kCommandFormatBase);
  return command.SerializeAsString();
}

Status CheckCommandFormat(const coord::state::Command& command) {
  if (command.format() > kCommandFormat) {
    return Status::Internal("command format " + std::to_string(command.format()) +
                                 " is newer than this member's (" +
                                 std::to_string(kCommandFormat) + "); upgrade this member");
  }
  if (command.body_case() == coord::state::Command::BODY_NOT_SET &&
      !command.GetReflection()->GetUnknownFields(command).empty()) {
    return Status::Internal("command body unknown to this version; upgrade this member");
  }
  return Status::Ok();
}

Result<std::any> StateAdapter::Apply(raft::Index index, const std::string& data) {
  coord::state::Command command;
  if (!command.ParseFromString(data)) {
    // Every member decodes the same bytes the same way, but a committed entry
    // that does not decode means a writer this member does not understand.
    return Status::Corruption("undecodable command at index " + std::to_string(index));
  }
  COORD_RETURN_IF_ERROR(CheckCommandFormat(command));
  ApplyResult result;
  {
    std::unique_lock lock(mu_);
    result = sm_.Apply(index, command);
    if (hub_ != nullptr) hub_->Dispatch(result.events, &sm_);
    if (tracker_ != nullptr && !result.duplicate) {
      const auto now = SessionTracker::Clock::now();
      const coord::v1::Response& r = result.response;
      if (r.has_session_create()) {
        tracker_->OnRenewed(r.session_create().session_id(), r.session_create().ttl_ms(), index,
                            now);
      } else if (r.has_session_keepalive()) {
        tracker_->OnRenewed(r.session_keepalive().session_id(), r.session_keepalive().ttl_ms(),
                            index, now);
      }
      for (int64_t id : result.expired_sessions) tracker_->OnEnded(id);
      for (int64_t id : result.closed_sessions) tracker_->OnEnded(id);
    }
    if (lock_tracker_ != nullptr && !result.duplicate) {
      const auto now = LockWaitTracker::Clock::now();
      for (const LockWaitState& w : result.lock_waits_queued) lock_tracker_->OnQueued(w, now);
      for (const LockGrant& g : result.lock_grants) lock_tracker_->OnLeft(g.acquire_index);
      for (const LockWaitEnded& e : result.lock_waits_ended) lock_tracker_->OnLeft(e.acquire_index);
    }
    if (tpc_tracker_ != nullptr && !result.duplicate) {
      const auto now = TpcTimerTracker::Clock::now();
      for (const TpcTimer& t : result.tpc_timers) tpc_tracker_->OnTimer(t, now);
      for (uint64_t id : result.tpc_forgotten) tpc_tracker_->OnForgotten(id);
    }
  }
  applied_commands_.fetch_add(1);
  if (on_expired_ && !result.expired_sessions.empty()) on_expired_(result.expired_sessions);
  if (on_applied_) on_applied_(result);
  // Handed to the proposer's completion as is (no encode/decode round trip).
  return std::any(std::move(result.response));
}

std::string StateAdapter::Snapshot() {
  std::shared_lock lock(mu_);
  return sm_.Snapshot();
}

Status StateAdapter::Restore(const std::string& image) {
  std::unique_lock lock(mu_);
  Status s = sm_.Restore(image);
  if (s.ok() && hub_ != nullptr) {
    // Events between our old state and the snapshot are not in our log: live
    // watches would have a gap. Cancel them; clients resume from their revision.
    coord::v1::Error reason;
    reason.set_code(coord::v1::UNAVAILABLE);
    reason.set_message("member state replaced by a snapshot; resume the watch");
    hub_->CancelAll(reason);
  }
  // Lock grants, election changes, 2PC events and session ends in the skipped
  // entries were never pushed: the server re-derives them from the new state.
  if (s.ok() && on_restored_) on_restored_(sm_);
  return s;
}

}  // namespace coord::server
