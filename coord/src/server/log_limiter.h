// LogLimiter: at most one log line per interval for a message that hostile or
// broken peers can trigger at will (a bad frame, a failing accept), so they
// cannot flood the log or spend the member's CPU on formatting. The line that is
// let through reports how many were held back since the last one.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace coord::server {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(Clock::duration interval) : interval_(interval) {}

  // True if a line may be written at `now`; then *suppressed is the number of
  // lines refused since the last one allowed (and is reset).
  bool Allow(Clock::time_point now, uint64_t* suppressed) {
    std::lock_guard lock(mu_);
    if (allowed_once_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    allowed_once_ = true;
    last_ = now;
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  const Clock::duration interval_;
  std::mutex mu_;
  bool allowed_once_ = false;
  Clock::time_point last_;
  uint64_t suppressed_ = 0;
};

}  // namespace coord::server
