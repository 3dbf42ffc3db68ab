// coord::Lock: a distributed lock held by a Session, with fencing tokens.
//
//   coord::Lock lock(*session, "/jobs/nightly");
//   {
//     std::unique_lock guard(lock);          // blocks until granted
//     write_to_service(..., lock.token());    // the service checks the token
//   }                                         // released here
//
// Standard interfaces: Lockable + TimedLockable (lock, try_lock, try_lock_for,
// try_lock_until, unlock), so std::lock_guard / std::unique_lock work, and
// SharedLockable + SharedTimedLockable (lock_shared, try_lock_shared,
// try_lock_shared_for, unlock_shared), so std::shared_lock works. Shared holders
// (readers) exclude exclusive ones (writers); waiting is FIFO-fair in the ensemble.
//
// Errors: the Status-returning forms Acquire / AcquireShared / Release report
// everything. The standard forms cannot return a Status: try_lock* return false
// on any failure (last_error() tells why), unlock* never fail loudly (the error is
// kept in last_error(); the session's end releases the lock anyway), and lock() /
// lock_shared() block until granted and THROW coord::LockError (the only exception
// this library throws, because std::lock_guard needs it) when the lock can never be
// granted: the session is lost, or the name is invalid.
//
// Loss. A Lock is held only while its Session is not lost: once session.lost()
// is true (see session.h), another client may soon hold the lock. held() then
// returns false, token() still names the token that was granted (the one to stop
// using), and a FencingVerifier in the protected service rejects it as soon as the
// next holder has used its higher token. Long critical sections should check
// session.lost() (or use Session::Options::on_lost) and guard their writes.
//
// Unknown outcomes: a release, or a try whose reply was lost, may leave the
// ensemble holding a grant this object no longer believes in. The Lock resolves
// it: the release is re-sent in the background while the session lives, and no
// new acquire on this object starts before it is confirmed (a try answers
// kUnavailable meanwhile, a timed acquire waits). The grant never outlives the
// session in any case.
//
// Reconnects: a queued acquire survives reconnects (it re-sends the acquire for
// the same session, which the ensemble answers idempotently with the grant or the
// queue position).
//
// Thread-safety: all methods are thread-safe; within one process a Lock object
// behaves like a std::shared_timed_mutex (threads sharing one Lock exclude each
// other locally; shared holders share one remote shared grant). unlock() must be
// called by the side that locked (any thread). Must not outlive its Session.
// Status: stable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "coord/client/session.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class LockState;
}  // namespace client_internal

// Thrown only by Lock::lock() / lock_shared() (see above).
class LockError : public std::runtime_error {
 public:
  explicit LockError(Status status)
      : std::runtime_error(status.ToString()), status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

class Lock {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  Lock(Session& session, std::string name);
  // Releases the lock if held (best effort).
  ~Lock();
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Status forms. `timeout`: Duration::max() waits forever; zero = try once (no
  // wait). Return the token. Errors: kTimeout (not granted in time; the wait is
  // withdrawn), kConflict (try: held by someone else), kSessionExpired (session
  // lost/expired), kInvalidArgument, call errors.
  Result<int64_t> Acquire(Duration timeout = Duration::max());
  Result<int64_t> AcquireShared(Duration timeout = Duration::max());
  // Releases the exclusive grant or this object's shared hold (the remote shared
  // grant is released with the last local shared holder). held() is false
  // afterwards whatever the result. kTimeout / kUnavailable: the release is not
  // confirmed and goes on in the background (see "Unknown outcomes"); a failure
  // there is reported by last_error().
  Status Release();

  // std Lockable / TimedLockable.
  void lock();
  bool try_lock();
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return TryFor(false, std::chrono::ceil<Duration>(d));
  }
  template <class C, class D>
  bool try_lock_until(const std::chrono::time_point<C, D>& t) {
    return TryFor(false, std::chrono::ceil<Duration>(t - C::now()));
  }
  void unlock();

  // std SharedLockable / SharedTimedLockable.
  void lock_shared();
  bool try_lock_shared();
  template <class Rep, class Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& d) {
    return TryFor(true, std::chrono::ceil<Duration>(d));
  }
  template <class C, class D>
  bool try_lock_shared_until(const std::chrono::time_point<C, D>& t) {
    return TryFor(true, std::chrono::ceil<Duration>(t - C::now()));
  }
  void unlock_shared();

  // The fencing token of the current grant, or of the last one when not held
  // (0: never granted).
  int64_t token() const;
  // Granted by the ensemble (as far as this client knows) AND the session is not lost.
  bool held() const;
  // The session was lost while this lock was held (or when it was last held).
  bool lost() const;
  const std::string& name() const { return name_; }
  Session& session() const { return session_; }
  // Why the last try_lock* / unlock* failed (OK when it did not).
  Status last_error() const;

 private:
  bool TryFor(bool shared, Duration timeout);

  Session& session_;
  const std::string name_;
  std::shared_ptr<client_internal::LockState> state_;
};

}  // namespace coord
