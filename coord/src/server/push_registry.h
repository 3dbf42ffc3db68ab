// PushRegistry: the streams this member pushes to its connections outside watches,
// and who receives each one.
//
//   lock waits        a queued acquire served here: its LockEvent (granted, or
//                     the wait ended) goes to the connection that sent it, after
//                     the acquire's reply;
//   election observers election_leader with observe: every change of the leader;
//   2PC participants  tpc_list with subscribe: prepares and decisions naming it;
//   session owners    the connection that created or last kept a session alive
//                     hears its expiry.
//
// Pushes normally follow applied entries, one by one. A member that catches up by
// installing a snapshot skips entries, and with them their pushes. Resync() is
// called with the restored state; it re-derives every stream from that state.
// Granted waiters get their grant and ended waits their end. Observers get the
// current leader if it changed. Participants get the prepares they have not
// voted on and the decisions they have not acknowledged (they may see one
// twice; the participant protocol is idempotent). Owners hear of sessions that
// are gone. A waiter registered after its acquire was applied here checks the
// state the same way, so an event skipped by a restore can never be waited for.
//
// Pushes are queued (ClientSink never blocks) under this registry's mutex, so
// the order of a stream is the order of the calls. Lock order: the state lock
// (when the caller holds it) before the registry's mutex.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "coord.pb.h"
#include "coord/server/state_machine.h"
#include "server/client_sink.h"

namespace coord::server {

class PushRegistry {
 public:
  // One queued acquire, as its reply named it.
  struct LockWait {
    std::string name;
    int64_t session = 0;
    uint64_t acquire_index = 0;
  };

  // ---- Lock waits ----

  // The reply of a queued acquire is in `sink`'s queue; its LockEvent goes there.
  // `state` is the current state (the caller holds its lock). If the outcome is
  // already known here (an early event, or a grant or end the state shows), it is
  // pushed now. Returns true if a grant was pushed now.
  bool AddLockWaiter(const std::shared_ptr<ClientSink>& sink, bool text, const LockWait& wait,
                     const StateMachine& state);
  // An applied grant or wait end. Returns true if it went to a waiter here; if not
  // registered (yet), it is kept (bounded) for AddLockWaiter.
  bool DeliverLockEvent(coord::v1::LockEvent event);

  // ---- Election observers ----

  // Pushes `reply` and, if `observe`, the first event `current` and registers the
  // connection, as one step w.r.t. PushElectionChanges.
  void AddObserver(const std::shared_ptr<ClientSink>& sink, bool text,
                   const coord::v1::ServerMessage& reply, bool observe,
                   const coord::v1::ElectionLeader& current);
  // Drops one observer of `name` on the connection; false if there was none.
  bool RemoveObserver(uint64_t connection_id, const std::string& name);
  void PushElectionChanges(const std::vector<ElectionChange>& changes);

  // ---- 2PC participants ----

  // Pushes `reply` and, if `subscribe`, registers the connection for the
  // participant's events, as one step w.r.t. PushTpcEvents.
  void AddParticipant(const std::shared_ptr<ClientSink>& sink, bool text,
                      const coord::v1::ServerMessage& reply, bool subscribe,
                      const std::string& participant);
  void PushTpcEvents(const ApplyResult& result);

  // ---- Session owners ----

  void SetSessionOwner(int64_t session, const std::shared_ptr<ClientSink>& sink, bool text);
  void ForgetSession(int64_t session);
  // Live sessions whose owner is this connection (the per-connection cap).
  size_t SessionsOwnedBy(uint64_t connection_id) const;
  // Tells each ended session's owner here (best effort) and forgets it.
  void PushSessionsExpired(const std::vector<int64_t>& sessions);

  // ---- Both ----

  // The connection closed: it receives nothing more. Its queued acquires stay
  // queued in the state (the session owns them).
  void RemoveConnection(uint64_t connection_id);
  // After a snapshot install: re-derives every stream from `state` (see above).
  // The caller holds the state lock.
  void Resync(const StateMachine& state);

  size_t lock_waiters() const;

 private:
  struct Target {
    std::weak_ptr<ClientSink> sink;
    uint64_t connection_id = 0;
    bool text = false;
  };
  struct Waiter {
    Target target;
    LockWait wait;
  };
  struct Observer {
    Target target;
    coord::v1::ElectionLeader last;  // the last event sent (a repeat is dropped)
  };

  // What the state says about `wait` now, as the event to push; nullopt while it
  // is still waiting (or not applied here yet).
  static std::optional<coord::v1::LockEvent> LockOutcome(const LockWait& wait,
                                                        const StateMachine& state);
  static void PushTo(const Target& target, const coord::v1::ServerMessage& m);
  void PushElectionLocked(const coord::v1::ElectionLeader& event);
  void PushTpcLocked(const std::string& participant, coord::v1::TpcEvent event);

  mutable std::mutex mu_;  // guards everything below
  std::map<uint64_t, Waiter> waiters_;  // by acquire_index
  // Lock events applied before the acquire's reply registered its waiter (a grant
  // can commit before a forwarded reply arrives), and events of acquires served by
  // other members. Bounded: the oldest (lowest acquire_index) are dropped.
  std::map<uint64_t, coord::v1::LockEvent> early_lock_events_;
  std::map<std::string, std::vector<Observer>> observers_;     // by election name
  std::map<std::string, std::vector<Target>> participants_;   // by participant name
  std::map<int64_t, Target> session_owners_;
  std::map<uint64_t, size_t> owned_per_connection_;  // connection id -> its session_owners_
  // Erases a session owner, keeping owned_per_connection_ in step.
  std::map<int64_t, Target>::iterator EraseOwner(std::map<int64_t, Target>::iterator it);
};

}  // namespace coord::server
