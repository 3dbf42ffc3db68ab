// coord::Election: leader election by a Session; coord::ElectionObserver: watch
// who leads.
//
//   coord::Election election(*session, "/svc/primary");
//   auto term = election.Campaign("10.0.0.7:9000");   // blocks until leader
//   if (term.ok()) serve_as_leader(*term);             // *term is a fencing token
//
// Candidates queue FIFO in the ensemble; the head leads. The term grows by one
// with every new leader and is a fencing token (use a FencingVerifier). The
// leadership lasts while the session lives: when session.lost() becomes true the
// process must stop acting as leader (is_leader() turns false).
//
// Campaign waits through reconnects (the election is re-observed on each new
// connection; the ensemble remembers the candidacy). Campaigning again after
// winning returns the current term.
//
// Thread-safety: all methods are thread-safe. Must not outlive the Session.
// Status: stable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "coord.pb.h"
#include "coord/client/session.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class ElectionState;
class ObserverState;
}  // namespace client_internal

class Election {
 public:
  using Duration = std::chrono::milliseconds;

  Election(Session& session, std::string name);
  // Does NOT resign (the candidacy ends with the session or Resign()); stops waiting.
  ~Election();
  Election(const Election&) = delete;
  Election& operator=(const Election&) = delete;

  // Joins the queue with `value` and waits until this session leads; returns the
  // term. Errors: kTimeout (not leader in time; STILL a candidate — Resign() to
  // leave), kSessionExpired (session lost), kInvalidArgument, call errors.
  Result<int64_t> Campaign(const std::string& value, Duration timeout = Duration::max());
  // The same, asynchronous: `done` runs once on the client's executor when this
  // session leads (the term) or the campaign fails (session lost, call errors).
  void CampaignAsync(const std::string& value, std::function<void(Result<int64_t>)> done);

  // Leader only: changes the published value (term unchanged). Errors: kConflict
  // (not the leader), kNotFound (not a candidate), call errors.
  Status Proclaim(const std::string& value, Duration timeout = Duration(0));
  // Leaves the election (as leader or queued candidate). Errors: kNotFound (not a
  // candidate), call errors.
  Status Resign(Duration timeout = Duration(0));

  // This session leads (as far as this client knows) and the session is not lost.
  bool is_leader() const;
  // The term of this session's leadership (0: never led).
  int64_t term() const;
  const std::string& name() const { return name_; }

  // The current leader of election `name` (linearizable). Errors: kNotFound (no
  // leader), call errors.
  static Result<coord::v1::ElectionLeader> Leader(Client& client, const std::string& name,
                                                  Duration timeout = Duration(0));

 private:
  Session& session_;
  const std::string name_;
  std::shared_ptr<client_internal::ElectionState> state_;
};

// Observes the leader of one election: `on_change` runs on the client's executor
// with the current leader first (session 0 = no leader now), then with every
// change of leader or proclaimed value, in order. After a reconnect it
// re-subscribes; the first event of the new subscription is delivered only if it
// differs from the last one delivered (no duplicate consecutive events).
// Thread-safety: thread-safe; Cancel() / the destructor wait for a callback in
// progress unless called from it. Must not outlive its Client.
class ElectionObserver {
 public:
  using Callback = std::function<void(const coord::v1::ElectionLeader&)>;

  // Subscribes (waits for the first reply). Errors: kInvalidArgument, call errors.
  static Result<std::unique_ptr<ElectionObserver>> Create(
      Client& client, const std::string& name, Callback on_change,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  ~ElectionObserver();  // Cancel()
  ElectionObserver(const ElectionObserver&) = delete;
  ElectionObserver& operator=(const ElectionObserver&) = delete;

  // No callback runs after Cancel() returns.
  void Cancel();

 private:
  explicit ElectionObserver(std::shared_ptr<client_internal::ObserverState> state);
  std::shared_ptr<client_internal::ObserverState> state_;
};

}  // namespace coord
