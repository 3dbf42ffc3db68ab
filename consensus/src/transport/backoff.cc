#include "transport/backoff.h"

#include <algorithm>

namespace coord::raft::transport {

Backoff::Backoff(Duration initial, Duration max, uint64_t seed)
    : initial_(std::max(initial, Duration(1))),
      max_(std::max(max, initial_)),
      current_(initial_),
      rng_(seed) {}

Backoff::Duration Backoff::Next() {
  const int64_t full = current_.count();
  // Jitter into [full/2, full]; never zero so a flapping peer cannot spin.
  std::uniform_int_distribution<int64_t> dist(std::max<int64_t>(full / 2, 1), full);
  Duration delay(dist(rng_));
  // Doubling saturates at max_; compare before multiplying to avoid overflow.
  current_ = current_ > max_ / 2 ? max_ : current_ * 2;
  return delay;
}

void Backoff::Reset() { current_ = initial_; }

}  // namespace coord::raft::transport
