#include "server/tpc_timer_tracker.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using Clock = TpcTimerTracker::Clock;

TpcTimer Timeout(uint64_t id, int64_t ms) { return TpcTimer{id, TpcTimerKind::kTimeout, ms}; }
TpcTimer Forget(uint64_t id, int64_t ms) { return TpcTimer{id, TpcTimerKind::kForget, ms}; }

TEST(TpcTimerTrackerTest, InactiveTrackerProposesNothing) {
  TpcTimerTracker t;
  const auto now = Clock::now();
  t.OnTimer(Timeout(1, 100), now);
  EXPECT_TRUE(t.TakeExpired(now + 10s).empty());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.active());
}

TEST(TpcTimerTrackerTest, ActivateStartsEveryTimerWithItsFullDuration) {
  TpcTimerTracker t;
  const auto now = Clock::now();
  t.Activate({Timeout(3, 1000), Forget(5, 200)}, now);
  EXPECT_TRUE(t.active());
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.TakeExpired(now + 199ms).empty());
  auto due = t.TakeExpired(now + 200ms);
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(due[0].has_tpc_forget());
  EXPECT_EQ(due[0].tpc_forget().txn_id(), 5u);
  due = t.TakeExpired(now + 1000ms);
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(due[0].has_tpc_timeout());
  EXPECT_EQ(due[0].tpc_timeout().txn_id(), 3u);
}

TEST(TpcTimerTrackerTest, ADecisionReplacesTheTimeoutWithTheRetention) {
  TpcTimerTracker t;
  const auto now = Clock::now();
  t.Activate({}, now);
  t.OnTimer(Timeout(7, 100), now);
  t.OnTimer(Forget(7, 5000), now + 50ms);  // decided before its timeout
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.TakeExpired(now + 1s).empty());  // the timeout is gone
  auto due = t.TakeExpired(now + 50ms + 5000ms);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(due[0].has_tpc_forget());
}

TEST(TpcTimerTrackerTest, ForgottenTransactionsLoseTheirTimer) {
  TpcTimerTracker t;
  const auto now = Clock::now();
  t.Activate({Forget(1, 100), Forget(2, 100)}, now);
  t.OnForgotten(1);
  auto due = t.TakeExpired(now + 1s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].tpc_forget().txn_id(), 2u);
}

TEST(TpcTimerTrackerTest, ProposalIsRetriedOnlyAfterTheRetryInterval) {
  TpcTimerTracker t(500ms);
  const auto now = Clock::now();
  t.Activate({Timeout(1, 100)}, now);
  EXPECT_EQ(t.TakeExpired(now + 100ms).size(), 1u);
  EXPECT_TRUE(t.TakeExpired(now + 400ms).empty());
  EXPECT_EQ(t.TakeExpired(now + 600ms).size(), 1u);
}

TEST(TpcTimerTrackerTest, DeactivateDropsEverything) {
  TpcTimerTracker t;
  const auto now = Clock::now();
  t.Activate({Timeout(1, 100)}, now);
  t.Deactivate();
  EXPECT_FALSE(t.active());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.TakeExpired(now + 1s).empty());
}

}  // namespace
}  // namespace coord::server
