// FencingVerifier: the check a service protected by a Coord lock (or election)
// runs on every request that carries a fencing token.
//
//   coord::FencingVerifier verifier;              // one per protected resource
//   Status s = verifier.Check(request.token());   // in the service, per request
//   if (!s.ok()) return s;                        // kConflict: a stale holder
//
// Check(token) accepts a token equal to or higher than the highest accepted so
// far (the same holder may write many times), and rejects a LOWER token with
// kConflict: a holder whose lock was lost (expired session, revoked) and already
// granted to someone else can no longer write once the newer holder has. Tokens
// must be positive (kInvalidArgument otherwise).
//
// The verifier persists nothing: a service that restarts should seed it with the
// highest token it has durably recorded (Observe / constructor), or store the
// token with its data and compare there. Lock tokens are per lock name; use one
// verifier per lock name.
//
// Thread-safety: every method is thread-safe (lock-free, one atomic).
// Status: stable.
#pragma once

#include <atomic>
#include <cstdint>

#include "coord/status.h"

namespace coord {

class FencingVerifier {
 public:
  // `highest_seen`: a token already known to be valid (0: none).
  explicit FencingVerifier(int64_t highest_seen = 0) : highest_(highest_seen) {}
  FencingVerifier(const FencingVerifier&) = delete;
  FencingVerifier& operator=(const FencingVerifier&) = delete;

  // Accepts `token` if it is >= the highest accepted token and records it.
  // Errors: kInvalidArgument (token <= 0), kConflict (stale: lower than highest()).
  Status Check(int64_t token);

  // Raises the highest token without a request (e.g. restored from storage).
  void Observe(int64_t token);

  // The highest token accepted or observed (0: none).
  int64_t highest() const { return highest_.load(std::memory_order_acquire); }

 private:
  std::atomic<int64_t> highest_;
};

}  // namespace coord
