// PeerClock: how late it is now in a peer's own steady clock, so a forward can
// carry its expiry in its origin's clock and the leader can drop it once that has
// passed, however long the network held it (after a partition heals, a stale
// forward must not overwrite what the client wrote after being told it failed).
//
// Every payload from a peer carries the peer's steady-clock time when it was sent
// (S). Received at local time R, it bounds the offset between the two clocks:
// R - S = offset + delay >= offset. The smallest R - S seen recently (a payload
// that travelled fast; hellos go every 500 ms) is the tightest bound, so the
// peer's clock now is at least `local_now - min(R - S)`. A forward whose expiry is
// below that has certainly expired at its origin. The estimate can lag the truth
// by the fastest recent one-way delay (well under a millisecond on a LAN), which
// the origin covers by sending an expiry a margin before its own deadline.
//
// No assumption about wall clocks. A peer whose clock restarted (reboot) only
// makes its forwards look older (dropped early: safe) until the old samples leave
// the window (10-20 s).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

#include "coord/consensus/types.h"

namespace coord::server {

class PeerClock {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWindow{10};

  // This member's steady clock in microseconds, as peers are sent it.
  static int64_t NowMicros(Clock::time_point t = Clock::now());

  // A payload from `peer` stamped `sent_us` (its clock) arrived at `received`.
  void Observe(raft::NodeId peer, int64_t sent_us, Clock::time_point received);

  // How long before `expiry_us` (the peer's clock) passes at the peer, as of local
  // `now`: zero or negative when it certainly has passed, and zero for a peer
  // never observed (so an unstamped forward is never started). The forward's own
  // stamp is enough to bound it by the time it was sent with.
  std::chrono::microseconds Remaining(raft::NodeId peer, int64_t expiry_us,
                                      Clock::time_point now) const;

 private:
  struct Bound {
    int64_t current = INT64_MAX;   // min(R - S) in the current window
    int64_t previous = INT64_MAX;  // ... in the window before it
    Clock::time_point started{};
  };
  mutable std::mutex mu_;
  std::map<raft::NodeId, Bound> peers_;
};

}  // namespace coord::server
