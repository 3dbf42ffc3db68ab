// ForwardTable: the requests this member forwarded to the leader and still waits
// to hear about.
//
// Each entry ends exactly once: by its reply (Take), or by Sweep when its deadline
// passes or the member it was sent to is no longer the leader (that member will
// likely never answer; the origin fails the request now rather than at its
// deadline) — unless it was registered as outliving a leader change (a
// leadership transfer, answered once the leadership moved). Either way the
// request may have been applied, so Sweep's callers answer TIMEOUT (outcome
// unknown).
//
// Thread-safety: all methods may be called from any thread; callbacks are
// returned, never run under the table's lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "coord/consensus/types.h"
#include "server/outcome.h"

namespace coord::server {

class ForwardTable {
 public:
  using Clock = std::chrono::steady_clock;

  // Registers a forward sent to `leader` and returns its forward id (never 0).
  // `outlives_leader_change`: only the deadline ends it, not a new leader.
  uint64_t Add(raft::NodeId leader, Clock::time_point deadline, Done done,
               bool outlives_leader_change = false);

  // The completion of forward `id`, which leaves the table; nullopt when it has
  // already ended (its reply came after the sweep, or a duplicate reply).
  std::optional<Done> Take(uint64_t id);

  struct Swept {
    std::vector<Done> expired;   // deadline passed
    std::vector<Done> orphaned;  // sent to a member that is no longer the leader
  };
  // Removes the forwards that ended at `now` with `leader` leading (kNoNode: no
  // known leader, which orphans every forward).
  Swept Sweep(Clock::time_point now, raft::NodeId leader);

  size_t size() const;

 private:
  struct Pending {
    Clock::time_point deadline;
    raft::NodeId leader = raft::kNoNode;
    Done done;
    bool outlives_leader_change = false;
  };
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
};

}  // namespace coord::server
