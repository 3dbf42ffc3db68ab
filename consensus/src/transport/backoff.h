// Exponential reconnect back-off with jitter.
//
// Delays start at `initial`, double after each failure up to `max`, and each
// returned delay is drawn uniformly from [d/2, d] so that members that lost a
// peer at the same moment do not reconnect in lock-step. The RNG is seeded, so a
// sequence of delays is reproducible.
//
// Thread-safety: none; owned by one outgoing connection on the I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace coord::raft::transport {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  // Preconditions: 0 < initial <= max (violations are clamped: initial of 0
  // becomes 1 ms, max below initial becomes initial).
  Backoff(Duration initial, Duration max, uint64_t seed);

  // The delay before the next attempt; advances the exponential step.
  Duration Next();
  // Back to `initial` (after a successful connection).
  void Reset();

  // The undithered delay the next call to Next() is based on.
  Duration current() const { return current_; }

 private:
  Duration initial_;
  Duration max_;
  Duration current_;
  std::mt19937_64 rng_;
};

}  // namespace coord::raft::transport
