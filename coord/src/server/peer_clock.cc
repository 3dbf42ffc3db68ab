#include "server/peer_clock.h"

#include <algorithm>

namespace coord::server {

int64_t PeerClock::NowMicros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void PeerClock::Observe(raft::NodeId peer, int64_t sent_us, Clock::time_point received) {
  const int64_t sample = NowMicros(received) - sent_us;
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
  const int64_t peer_now_at_least = NowMicros(now) - offset;
  return std::chrono::microseconds(expiry_us - peer_now_at_least);
}

}  // namespace coord::server
