#include "server/peer_clock.h"

#include <algorithm>

namespace coord::server {

int64_t PeerClock::NowMicros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void PeerClock::Observe(raft::NodeId peer, int64_t sent_us, Clock::time_point received) {
  int64_t sample = 0;
  // A stamp no clock could produce (a forged frame) says nothing: ignored.
  if (__builtin_sub_overflow(NowMicros(received), sent_us, &sample)) return;
  std::lock_guard lock(mu_);
  Bound& b = peers_[peer];
  if (received - b.started >= kWindow) {
    b.previous = b.current;
    b.current = INT64_MAX;
    b.started = received;
  }
  b.current = std::min(b.current, sample);
}

std::chrono::microseconds PeerClock::Remaining(raft::NodeId peer, int64_t expiry_us,
                                               Clock::time_point now) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::chrono::microseconds(0);
  const int64_t offset = std::min(it->second.current, it->second.previous);
  // The peer's clock now is at least local_now - offset.
  int64_t peer_now_at_least = 0, left = 0;
  // Saturating: absurd stamps give absurd but well-defined answers.
  if (__builtin_sub_overflow(NowMicros(now), offset, &peer_now_at_least)) {
    peer_now_at_least = offset > 0 ? INT64_MIN : INT64_MAX;
  }
  if (__builtin_sub_overflow(expiry_us, peer_now_at_least, &left)) {
    left = peer_now_at_least > 0 ? INT64_MIN : INT64_MAX;
  }
  return std::chrono::microseconds(left);
}

}  // namespace coord::server
