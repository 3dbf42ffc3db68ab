// StateAdapter: the coordination StateMachine as the Raft node's application.
//
// Entry format: the data of every ENTRY_NORMAL entry the server proposes is a
// coord::state::Command written by EncodeCommand (which stamps kCommandFormat);
// the result handed to the proposer's completion is the coord::v1::Response from
// StateMachine::Apply (header + body or error) inside the std::any, never
// re-encoded. A committed entry this member cannot apply (does not decode, a
// newer format, a body this version does not know) is an error of Apply: the
// Raft node stops loudly rather than diverge from members that can apply it.
//
// Apply runs on the node thread with the state machine lock held exclusively; it
// hands the command's events to the WatchHub and session renewals/endings to the
// SessionTracker before releasing the lock, so readers (shared lock, on the
// server's I/O threads) and watch creation never see a half-delivered revision.
//
// Thread-safety: Apply/Snapshot/Restore on the node thread (the Raft contract);
// Read() from any thread.
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "coord/consensus/node.h"
#include "coord/server/state_machine.h"
#include "server/lock_wait_tracker.h"
#include "server/session_tracker.h"
#include "server/tpc_timer_tracker.h"
#include "server/watch_hub.h"

namespace coord::server {

// Command formats. kCommandFormat is the newest this version writes and
// applies; raise it when a change to Command would be applied differently by an
// older member.
inline constexpr uint32_t kCommandFormatBase = 1;
inline constexpr uint32_t kCommandFormatIncarnations = 2;  // adds client_incarnation
inline constexpr uint32_t kCommandFormatMemberRetire = 3;  // adds member_retire
inline constexpr uint32_t kCommandFormatAuth = 4;          // adds user and the auth bodies
inline constexpr uint32_t kCommandFormat = kCommandFormatAuth;

// Serializes `command` for a proposal, stamped with the oldest format that
// holds it (4 with a user or an auth body, 3 for member_retire, 2 when it names
// a client incarnation).
std::string EncodeCommand(coord::state::Command command);

// OK if this version can apply `command`: its format is not newer than ours and
// its body is one we know.
Status CheckCommandFormat(const coord::state::Command& command);

class StateAdapter : public raft::StateMachine {
 public:
  // `hub` and `tracker` are borrowed and must outlive the adapter; either may be
  // null (tests).
  StateAdapter(StateMachineOptions options, WatchHub* hub, SessionTracker* tracker);

  Result<std::any> Apply(raft::Index index, const std::string& data) override;
  std::string Snapshot() override;
  Status Restore(const std::string& image) override;

  // Runs `f(const StateMachine&)` under the shared lock and returns its result.
  template <typename F>
  auto Read(F&& f) const {
    std::shared_lock lock(mu_);
    return f(static_cast<const coord::server::StateMachine&>(sm_));
  }

  // Called after Apply (lock released) with the sessions that ended by expiry.
  void set_on_sessions_expired(std::function<void(const std::vector<int64_t>&)> f) {
    on_expired_ = std::move(f);
  }

  // Optional: the leader's lock wait deadlines, fed with queued and finished waits
  // under the state lock (borrowed; must outlive the adapter).
  void set_lock_wait_tracker(LockWaitTracker* tracker) { lock_tracker_ = tracker; }
  // Optional: the leader's 2PC timeout/retention timers, fed with the timers and
  // forgotten transactions of every apply under the state lock (borrowed).
  void set_tpc_timer_tracker(TpcTimerTracker* tracker) { tpc_tracker_ = tracker; }
  // Called after every applied command (lock released) with its result, so the
  // server can push lock grants/ends and election changes and count metrics.
  // Must not block.
  void set_on_applied(std::function<void(const ApplyResult&)> f) { on_applied_ = std::move(f); }
  // Called after a snapshot was restored, with the state lock still held
  // exclusively, so the server can re-derive its pushed streams before any read or
  // apply sees the new state. Must not block or take the state lock.
  void set_on_restored(std::function<void(const coord::server::StateMachine&)> f) {
    on_restored_ = std::move(f);
  }

  uint64_t applied_commands() const { return applied_commands_.load(); }

 private:
  mutable std::shared_mutex mu_;
  coord::server::StateMachine sm_;
  WatchHub* hub_;
  SessionTracker* tracker_;
  std::function<void(const std::vector<int64_t>&)> on_expired_;
  LockWaitTracker* lock_tracker_ = nullptr;
  TpcTimerTracker* tpc_tracker_ = nullptr;
  std::function<void(const ApplyResult&)> on_applied_;
  std::function<void(const coord::server::StateMachine&)> on_restored_;
  std::atomic<uint64_t> applied_commands_{0};
};

}  // namespace coord::server
