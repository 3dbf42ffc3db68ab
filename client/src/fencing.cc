#include "coord/client/fencing.h"

#include <string>

namespace coord {

Status FencingVerifier::Check(int64_t token) {
  if (token <= 0) {
    return Status::InvalidArgument("fencing token must be positive, got " + std::to_string(token));
  }
  // Raise highest_ to `token` unless it is already higher; a CAS loop keeps the
  // check and the update one atomic step, so two concurrent holders cannot both
  // pass with the lower token after the higher one was accepted.
  int64_t seen = highest_.load(std::memory_order_acquire);
  while (true) {
    if (token < seen) {
      return Status::Conflict("stale fencing token " + std::to_string(token) + " (highest seen " +
                              std::to_string(seen) + ")");
    }
    if (token == seen) return Status::Ok();
    if (highest_.compare_exchange_weak(seen, token, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      return Status::Ok();
    }
  }
}

void FencingVerifier::Observe(int64_t token) {
  int64_t seen = highest_.load(std::memory_order_acquire);
  while (token > seen && !highest_.compare_exchange_weak(seen, token, std::memory_order_acq_rel,
                                                         std::memory_order_acquire)) {
  }
}

}  // namespace coord
