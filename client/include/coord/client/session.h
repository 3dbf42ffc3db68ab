// coord::Session: a Coord session (lease) kept alive in the background.
//
//   coord::Session::Options opts;
//   opts.ttl = std::chrono::seconds(10);
//   opts.on_lost = [] { stop_critical_work(); };
//   auto session = coord::Session::Create(*client, opts);
//
// Keepalive: every ttl/3 the session sends a keepalive (an exactly-once write);
// failed keepalives are retried every ttl/10 until the lost deadline.
//
// LOST (the client can no longer be sure the session lives). The local deadline is
//     lost_deadline = start of the last CONFIRMED keepalive (or of the create)
//                     + ttl - safety_margin,        safety_margin = max(ttl/10, 100 ms)
// measured on the steady clock. The ensemble expires the session no earlier than
// ttl after it applied that keepalive, which happened after we sent it, so `lost`
// fires BEFORE the ensemble could expire the session and grant its locks to
// someone else (up to the margin, which absorbs clock-rate differences and the
// leader's tick). `lost` is sticky: the session stops its keepalives, and every
// Lock / Election of it must be considered lost. `on_lost` runs once, on the
// client's executor; it also fires (first, before on_expired) when the server
// says the session ended. It does NOT fire for Close() or the Session's
// destruction (lost() is true afterwards all the same).
//
// EXPIRED: the server says the session ended (a keepalive answered
// SESSION_EXPIRED or NOT_FOUND, or a pushed SessionEvent). `on_expired` runs once,
// on the executor, after `on_lost`.
//
// Thread-safety: all methods are thread-safe. The Session must not outlive its
// Client; Locks and Elections made on it must not outlive it.
// Status: stable (Options may grow).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class SessionState;
}  // namespace client_internal

class Session {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  struct Options {
    // Requested TTL; the server clamps it to [1 s, 1 h] (ttl() tells the result).
    Duration ttl{10000};
    // Zero: max(ttl/10, 100 ms). Must be below ttl/2.
    Duration safety_margin{0};
    // Both run once on the executor (see above). May be empty.
    std::function<void()> on_lost;
    std::function<void()> on_expired;
  };

  // Creates the session on the ensemble (an exactly-once write) and starts the
  // keepalives. Errors: kInvalidArgument (ttl <= 0, margin >= ttl/2), call errors.
  static Result<std::unique_ptr<Session>> Create(Client& client, Options options,
                                                 Duration timeout = Duration(0));

  // Stops the keepalives and closes the session on the ensemble (best effort,
  // bounded by the client's default timeout) unless already lost.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Closes the session now (its ephemeral keys, locks and candidacies go away).
  // Afterwards lost() is true. Errors: call errors (the session then still expires
  // by TTL); closing a lost or closed session is OK.
  Status Close(Duration timeout = Duration(0));

  int64_t id() const { return id_; }
  // The TTL granted by the server.
  Duration ttl() const { return ttl_; }
  Duration safety_margin() const { return margin_; }
  Client& client() const { return client_; }

  // True once the session can no longer be trusted (see LOST).
  bool lost() const;
  // True once the server said the session ended.
  bool expired() const;
  // The current local deadline (moves forward with every confirmed keepalive).
  Clock::time_point lost_deadline() const;
  // Waits until lost() (true) or the timeout (false).
  bool WaitLost(Duration timeout) const;

  // Pure arithmetic, exposed for tests and for users who keep their own clock:
  // the margin for `ttl` (max(ttl/10, 100 ms)) and the lost deadline.
  static Duration DefaultSafetyMargin(Duration ttl);
  static Clock::time_point LostDeadline(Clock::time_point confirmed_send, Duration ttl,
                                        Duration margin) {
    return confirmed_send + ttl - margin;
  }

 private:
  friend class Lock;
  friend class Election;
  Session(Client& client, int64_t id, Duration ttl, Duration margin,
          std::shared_ptr<client_internal::SessionState> state);

  Client& client_;
  const int64_t id_;
  const Duration ttl_;
  const Duration margin_;
  std::shared_ptr<client_internal::SessionState> state_;
  std::atomic<bool> closed_{false};
};

}  // namespace coord
