// The forward table and the clock bound that lets a leader drop a forward its
// origin has given up on.
#include <gtest/gtest.h>

#include "server/forward_table.h"
#include "server/peer_clock.h"

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(ForwardTableTest, EachForwardEndsOnceByReplyOrSweep) {
  ForwardTable table;
  const auto now = Clock::now();
  int replied = 0;
  const uint64_t a = table.Add(1, now + 1s, [&](Outcome) { ++replied; });
  const uint64_t b = table.Add(1, now + 10s, [&](Outcome) { ++replied; });
  const uint64_t c = table.Add(2, now + 10s, [&](Outcome) { ++replied; });
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  auto done = table.Take(b);
  ASSERT_TRUE(done);
  (*done)(Outcome{});
  EXPECT_FALSE(table.Take(b)) << "a duplicate reply must find nothing";
  // At now+2s with member 1 leading: `a` expired, `c` (sent to 2) is orphaned.
  ForwardTable::Swept swept = table.Sweep(now + 2s, 1);
  EXPECT_EQ(swept.expired.size(), 1u);
  EXPECT_EQ(swept.orphaned.size(), 1u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.Take(a));
  EXPECT_FALSE(table.Take(c));
  EXPECT_EQ(replied, 1);
}

TEST(ForwardTableTest, AForwardThatOutlivesALeaderChangeEndsOnlyAtItsDeadline) {
  ForwardTable table;
  const auto now = Clock::now();
  table.Add(3, now + 10s, [](Outcome) {}, /*outlives_leader_change=*/true);
  EXPECT_TRUE(table.Sweep(now, 4).orphaned.empty());
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Sweep(now + 11s, 4).expired.size(), 1u);
}

TEST(ForwardTableTest, NoLeaderOrphansEverything) {
  ForwardTable table;
  table.Add(3, Clock::now() + 10s, [](Outcome) {});
  EXPECT_EQ(table.Sweep(Clock::now(), raft::kNoNode).orphaned.size(), 1u);
}

// A peer whose clock is 1000 s ahead of ours; payloads take 1 ms, but one
// forward was held by the network for 5 s.
TEST(PeerClockTest, DropsAForwardTheNetworkHeldPastItsExpiry) {
  PeerClock clock;
  const auto t0 = Clock::now();
  const int64_t skew = 1'000'000'000;  // µs
  auto peer_time = [&](Clock::time_point local) { return PeerClock::NowMicros(local) + skew; };
  // Hellos every 500 ms, 1 ms in flight.
  for (int i = 0; i < 4; ++i) {
    const auto sent = t0 + i * 500ms;
    clock.Observe(7, peer_time(sent), sent + 1ms);
  }
  // A forward sent at t0+1.5s with 2 s to live, delivered at t0+6.5s.
  const auto sent = t0 + 1500ms;
  const int64_t expiry = peer_time(sent + 2s);
  const auto arrived = sent + 5s;
  clock.Observe(7, peer_time(sent), arrived);  // its own stamp tells nothing new
  EXPECT_LE(clock.Remaining(7, expiry, arrived).count(), 0);
  // The same forward delivered promptly has almost all of its 2 s.
  const auto prompt = sent + 1ms;
  const auto left = clock.Remaining(7, expiry, prompt);
  EXPECT_GT(left, 1990ms);
  EXPECT_LE(left, 2000ms);
}

// Stamps from a forged frame: no overflow, and the forward is never started.
TEST(PeerClockTest, AbsurdStampsAreIgnoredOrSaturate) {
  PeerClock clock;
  const auto now = Clock::now();
  clock.Observe(5, INT64_MIN, now);  // ignored: no clock gives it
  EXPECT_EQ(clock.Remaining(5, INT64_MAX, now).count(), 0) << "still no sample";
  clock.Observe(5, INT64_MAX, now);
  EXPECT_LE(clock.Remaining(5, INT64_MIN, now).count(), 0);
}

TEST(PeerClockTest, WithoutSamplesNothingIsStarted) {
  PeerClock clock;
  EXPECT_EQ(clock.Remaining(9, PeerClock::NowMicros() + 1'000'000, Clock::now()).count(), 0);
}

// A peer that restarted with a clock far behind only looks older: its forwards
// are dropped early (never late) until the old bound leaves the window.
TEST(PeerClockTest, ClockRestartErrsOnTheSafeSideThenRecovers) {
  PeerClock clock;
  const auto t0 = Clock::now();
  clock.Observe(7, PeerClock::NowMicros(t0), t0 + 1ms);
  const int64_t behind = 500'000'000;
  auto peer_time = [&](Clock::time_point local) { return PeerClock::NowMicros(local) - behind; };
  const auto t1 = t0 + 1s;
  clock.Observe(7, peer_time(t1), t1 + 1ms);
  EXPECT_LE(clock.Remaining(7, peer_time(t1 + 2s), t1 + 1ms).count(), 0);
  // Two windows later only the new samples count.
  const auto t2 = t0 + 2 * PeerClock::kWindow + 2s;
  clock.Observe(7, peer_time(t2), t2 + 1ms);
  const auto t3 = t2 + PeerClock::kWindow + 1s;
  clock.Observe(7, peer_time(t3), t3 + 1ms);
  EXPECT_GT(clock.Remaining(7, peer_time(t3 + 2s), t3 + 1ms), 1900ms);
}

}  // namespace
}  // namespace coord::server
