#include "server/leader_duties.h"

#include <spdlog/spdlog.h>

namespace coord::server {

LeaderDuties::LeaderDuties(Parts parts, std::chrono::milliseconds checkpoint_interval,
                           std::chrono::milliseconds proposal_timeout)
    : parts_(parts),
      checkpoint_interval_(checkpoint_interval),
      proposal_timeout_(proposal_timeout) {}

void LeaderDuties::Tick(bool leading, Clock::time_point now) {
  if (leading && !leading_) {
    parts_.state->Read([&](const StateMachine& sm) {
      parts_.sessions->Activate(sm.Sessions(), now);
      if (parts_.lock_waits != nullptr) parts_.lock_waits->Activate(sm.LockWaits(), now);
      if (parts_.tpc != nullptr) parts_.tpc->Activate(sm.PendingTxnDeadlines(), now);
      return 0;
    });
    // The first checkpoint after an election timeout: the sessions' records were
    // just read, so none is stale yet.
    next_checkpoint_ = now + checkpoint_interval_;
  } else if (!leading && leading_) {
    parts_.sessions->Deactivate();
    if (parts_.lock_waits != nullptr) parts_.lock_waits->Deactivate();
    if (parts_.tpc != nullptr) parts_.tpc->Deactivate();
  }
  leading_ = leading;
  if (!leading) return;

  if (auto expire = parts_.sessions->TakeExpired(now)) Propose(*expire, now);
  if (parts_.lock_waits != nullptr) {
    for (const coord::state::Command& c : parts_.lock_waits->TakeExpired(now)) Propose(c, now);
  }
  if (parts_.tpc != nullptr) {
    for (const coord::state::Command& c : parts_.tpc->TakeExpired(now)) Propose(c, now);
  }
  if (now >= next_checkpoint_) {
    next_checkpoint_ = now + checkpoint_interval_;
    if (auto c = parts_.sessions->MakeCheckpoint(now)) Propose(*c, now);
  }
}

void LeaderDuties::Propose(const coord::state::Command& command, Clock::time_point now) {
  parts_.raft->Propose(EncodeCommand(command), now + proposal_timeout_, [](raft::ProposeResult r) {
    if (!r.status.ok()) spdlog::debug("server: leader command failed: {}", r.status.ToString());
  });
}

}  // namespace coord::server
