// AcceptBackoff: how long the client listener waits before accepting again
// after accept() failed. Out of descriptors (EMFILE, ENFILE) or kernel memory,
// the pending connection stays in the backlog and an immediate retry fails the
// same way: retrying at once spins a core and floods the log. The wait doubles
// from kInitial to kMax and resets on the first successful accept.
//
// Thread-safety: none (used on the acceptor's strand).
#pragma once

#include <algorithm>
#include <chrono>

namespace coord::server {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kInitial{10};
  static constexpr std::chrono::milliseconds kMax{1000};

  // After a failed accept: the wait before the next attempt.
  std::chrono::milliseconds OnError() {
    next_ = next_.count() == 0 ? kInitial : std::min(next_ * 2, kMax);
    return next_;
  }
  void OnSuccess() { next_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds next_{0};
};

}  // namespace coord::server
