// SessionState: the shared, I/O-thread side of a coord::Session (private).
//
// Owned by the Session and by the closures of its timers and listener; the I/O
// thread drives keepalives and the lost timer, other threads read the flags.
// Lost hooks let Locks and Elections wake their waiters the moment the session is
// lost (they run on the I/O thread and must not block).
//
// Thread-safety: the flags and hooks are guarded by mu_; timers are I/O-thread only.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "core.h"

namespace coord::client_internal {

class SessionState : public std::enable_shared_from_this<SessionState> {
 public:
  using Duration = std::chrono::milliseconds;

  SessionState(std::shared_ptr<Core> core, int64_t id, Duration ttl, Duration margin,
               Clock::time_point created_send, std::function<void()> on_lost,
               std::function<void()> on_expired);

  // Starts keepalives, the lost timer and the session-event listener.
  void Start();
  // No callbacks after this; stops timers and the listener; marks lost. Blocks
  // until the I/O thread dropped them (not from the I/O thread... inline there).
  void Stop();

  bool lost() const;
  bool expired() const;
  Clock::time_point lost_deadline() const;
  bool WaitLost(Duration timeout) const;

  // `hook` runs once (on the I/O thread, or inline if already lost) when lost.
  uint64_t AddLostHook(std::function<void()> hook);
  void RemoveLostHook(uint64_t id);

  int64_t id() const { return id_; }
  Core& core() { return *core_; }

 private:
  void ScheduleKeepalive(Clock::time_point at);
  void SendKeepalive();
  void ArmLostTimer();
  // expired: the server said so. Runs the hooks and posts the callbacks.
  void MarkLost(bool expired);

  const std::shared_ptr<Core> core_;
  const int64_t id_;
  const Duration ttl_;
  const Duration margin_;
  std::function<void()> on_lost_;
  std::function<void()> on_expired_;

  // I/O thread only.
  std::unique_ptr<boost::asio::steady_timer> keepalive_timer_;
  std::unique_ptr<boost::asio::steady_timer> lost_timer_;
  uint64_t listener_ = 0;
  bool stopped_io_ = false;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool lost_ = false;
  bool expired_ = false;
  bool stopped_ = false;  // user closed / destroyed: no callbacks
  Clock::time_point lost_deadline_;
  std::map<uint64_t, std::function<void()>> hooks_;
  uint64_t next_hook_ = 1;
};

}  // namespace coord::client_internal
