// Backoff: reconnect delays, exponential with jitter (private to the client).
//
// Next() returns a delay in [d/2, d] where d = initial * 2^failures, capped at
// max; Reset() after a success. Deterministic for a given seed (tests).
// Thread-safety: none (the client's I/O thread owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace coord::client_internal {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  Backoff(Duration initial, Duration max, uint64_t seed)
      : initial_(initial.count() > 0 ? initial : Duration(1)),
        max_(max < initial_ ? initial_ : max),
        rng_(seed) {}

  // The delay before the next attempt; doubles the base for the one after.
  Duration Next();
  // After a success: the next delay starts from `initial` again.
  void Reset() { failures_ = 0; }
  // The un-jittered delay Next() would draw from now.
  Duration Base() const;
  int failures() const { return failures_; }

 private:
  Duration initial_;
  Duration max_;
  std::mt19937_64 rng_;
  int failures_ = 0;
};

}  // namespace coord::client_internal
