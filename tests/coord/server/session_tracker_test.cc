#include "server/session_tracker.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using Clock = SessionTracker::Clock;

TEST(SessionTrackerTest, InactiveTrackerProposesNothing) {
  SessionTracker t;
  const auto now = Clock::now();
  t.OnRenewed(1, 1000, 5, now);
  EXPECT_FALSE(t.TakeExpired(now + 10s));
  EXPECT_FALSE(t.MakeCheckpoint(now));
}

TEST(SessionTrackerTest, ActivateStartsFromRemainingTtl) {
  SessionTracker t;
  const auto now = Clock::now();
  t.Activate({SessionState{1, 10'000, 300, 7}, SessionState{2, 10'000, 5'000, 8}}, now);
  EXPECT_FALSE(t.TakeExpired(now + 299ms));
  auto c = t.TakeExpired(now + 300ms);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->session_expire().sessions_size(), 1);
  EXPECT_EQ(c->session_expire().sessions(0).session_id(), 1);
  EXPECT_EQ(c->session_expire().sessions(0).renewed_index(), 7u);
}

TEST(SessionTrackerTest, RenewalPushesTheDeadline) {
  SessionTracker t;
  const auto now = Clock::now();
  t.Activate({SessionState{1, 1000, 1000, 1}}, now);
  t.OnRenewed(1, 1000, 9, now + 900ms);
  EXPECT_FALSE(t.TakeExpired(now + 1500ms));
  auto c = t.TakeExpired(now + 1900ms);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->session_expire().sessions(0).renewed_index(), 9u);
}

TEST(SessionTrackerTest, ExpiryIsRetriedOnlyAfterTheRetryInterval) {
  SessionTracker t(500ms);
  const auto now = Clock::now();
  t.Activate({SessionState{1, 1000, 0, 1}}, now);
  EXPECT_TRUE(t.TakeExpired(now));
  EXPECT_FALSE(t.TakeExpired(now + 100ms));
  EXPECT_TRUE(t.TakeExpired(now + 600ms));
  t.OnEnded(1);
  EXPECT_FALSE(t.TakeExpired(now + 2s));
  EXPECT_EQ(t.size(), 0u);
}

TEST(SessionTrackerTest, CheckpointCarriesRemainingTime) {
  SessionTracker t;
  const auto now = Clock::now();
  t.Activate({SessionState{4, 10'000, 10'000, 3}}, now);
  auto c = t.MakeCheckpoint(now + 4s);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->session_checkpoint().sessions_size(), 1);
  EXPECT_EQ(c->session_checkpoint().sessions(0).remaining_ms(), 6000);
  EXPECT_EQ(c->session_checkpoint().sessions(0).renewed_index(), 3u);
  auto late = t.MakeCheckpoint(now + 20s);
  EXPECT_EQ(late->session_checkpoint().sessions(0).remaining_ms(), 0);
}

TEST(SessionTrackerTest, DeactivateForgetsEverything) {
  SessionTracker t;
  const auto now = Clock::now();
  t.Activate({SessionState{1, 1000, 0, 1}}, now);
  t.Deactivate();
  EXPECT_FALSE(t.active());
  EXPECT_FALSE(t.TakeExpired(now + 10s));
}

}  // namespace
}  // namespace coord::server
