// LockTable: named locks with holders, a FIFO wait queue and fencing tokens.
//
// Invariants (checked on restore):
//   * tokens of the holders are distinct, positive and <= last_token;
//   * a lock with waiters has holders (a free lock grants its head at once), and
//     the head waiter does not fit the holders (else it would have been granted):
//     the head is exclusive, or the holders are exclusive;
//   * a session appears at most once per lock (as holder or as waiter);
//   * by_session_ lists exactly the locks where a session holds or waits.
// A lock's record stays after it becomes free, so last_token never goes back.
//
// The table trusts its caller on names (non-empty) and sessions (live); the
// validation with errors lives in lock_ops.cc.
//
// Thread-safety: none (owned by StateMachine::Impl).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/server/state_machine.h"
#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

struct LockHolderState {
  int64_t token = 0;
  uint64_t acquire_index = 0;
};

struct LockWaiterState {
  int64_t session = 0;
  bool shared = false;
  uint64_t acquire_index = 0;
  int64_t wait_timeout_ms = 0;
};

struct Lock {
  bool shared = false;  // mode of the holders (meaningless when free)
  int64_t last_token = 0;
  std::map<int64_t, LockHolderState> holders;  // by session
  std::deque<LockWaiterState> waiters;         // FIFO

  // The highest token held; 0 when free.
  int64_t CurrentToken() const;
  coord::v1::LockInfo ToInfo(const std::string& name) const;
};

class LockTable {
 public:
  struct AcquireOutcome {
    bool granted = false;
    int64_t token = 0;
    int64_t position = 0;  // 1-based queue position when not granted
    uint64_t acquire_index = 0;
  };

  const Lock* Find(std::string_view name) const;
  const std::map<std::string, Lock, std::less<>>& locks() const { return locks_; }

  // Grants at once if the queue is empty and the lock is free (or shared and the
  // request is shared); else queues (wait) or fails with CONFLICT (try-acquire).
  // A session that already holds (or waits) in the same mode gets its existing
  // grant (or position) back; in the other mode: CONFLICT. `raft_index` identifies
  // the acquire.
  Result<AcquireOutcome> Acquire(const std::string& name, int64_t session, bool shared, bool wait,
                                 int64_t wait_timeout_ms, uint64_t raft_index);

  // A holder releases, or a waiter withdraws (then *was_holder = false). Grants the
  // next fitting waiter(s). NOT_FOUND if the session neither holds nor waits.
  Status Release(const std::string& name, int64_t session, bool* was_holder,
                 std::vector<LockGrant>* grants, std::vector<LockWaitEnded>* ended);

  // Removes every holder (returned, session order) and grants the next waiter(s).
  // NOT_FOUND if nobody holds the lock.
  Result<std::vector<int64_t>> Revoke(const std::string& name, std::vector<LockGrant>* grants);

  // Removes the waiter (session, acquire_index) if still queued; returns whether
  // it was, then grants what now fits.
  bool TimeoutWait(const std::string& name, int64_t session, uint64_t acquire_index,
                   std::vector<LockGrant>* grants, std::vector<LockWaitEnded>* ended);

  // The sessions end: their waits leave every queue first (so nothing is granted
  // to an ending session), then their holds are released and the affected locks
  // grant their next waiters, in name order.
  void EndSessions(const std::vector<int64_t>& sessions, std::vector<LockGrant>* grants,
                   std::vector<LockWaitEnded>* ended);

  void ToSnapshot(coord::state::StateSnapshot* out) const;
  // Fills an empty table from a snapshot. Errors: CORRUPTION (broken invariants,
  // a session for which `live_session` is false).
  Status Load(const coord::state::StateSnapshot& snapshot,
              const std::function<bool(int64_t)>& live_session);

 private:
  // Grants head waiters while they fit.
  void Promote(const std::string& name, Lock* lock, std::vector<LockGrant>* grants);
  void Unindex(int64_t session, const std::string& name);

  std::map<std::string, Lock, std::less<>> locks_;
  std::map<int64_t, std::set<std::string>> by_session_;
};

}  // namespace coord::server
