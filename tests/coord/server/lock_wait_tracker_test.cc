#include "server/lock_wait_tracker.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using Clock = LockWaitTracker::Clock;

TEST(LockWaitTrackerTest, InactiveTrackerProposesNothing) {
  LockWaitTracker t;
  const auto now = Clock::now();
  t.OnQueued(LockWaitState{"l", 1, 5, 100}, now);
  EXPECT_TRUE(t.TakeExpired(now + 10s).empty());
  EXPECT_EQ(t.size(), 0u);
}

TEST(LockWaitTrackerTest, ActivateGivesEachTimedWaitItsTimeout) {
  LockWaitTracker t;
  const auto now = Clock::now();
  t.Activate({LockWaitState{"a", 1, 7, 300}, LockWaitState{"b", 2, 8, 0},
              LockWaitState{"c", 3, 9, 5000}},
             now);
  EXPECT_EQ(t.size(), 2u);  // the wait without a timeout is not tracked
  EXPECT_TRUE(t.TakeExpired(now + 299ms).empty());
  auto due = t.TakeExpired(now + 300ms);
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(due[0].has_lock_wait_timeout());
  EXPECT_EQ(due[0].lock_wait_timeout().name(), "a");
  EXPECT_EQ(due[0].lock_wait_timeout().session(), 1);
  EXPECT_EQ(due[0].lock_wait_timeout().acquire_index(), 7u);
}

TEST(LockWaitTrackerTest, LeftWaitsAreForgotten) {
  LockWaitTracker t;
  const auto now = Clock::now();
  t.Activate({}, now);
  t.OnQueued(LockWaitState{"a", 1, 7, 100}, now);
  t.OnQueued(LockWaitState{"a", 2, 8, 100}, now);
  t.OnLeft(7);
  auto due = t.TakeExpired(now + 1s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].lock_wait_timeout().acquire_index(), 8u);
}

TEST(LockWaitTrackerTest, ProposalIsRetriedOnlyAfterTheRetryInterval) {
  LockWaitTracker t(500ms);
  const auto now = Clock::now();
  t.Activate({LockWaitState{"a", 1, 7, 100}}, now);
  EXPECT_EQ(t.TakeExpired(now + 100ms).size(), 1u);
  EXPECT_TRUE(t.TakeExpired(now + 400ms).empty());
  EXPECT_EQ(t.TakeExpired(now + 600ms).size(), 1u);
}

TEST(LockWaitTrackerTest, DeactivateDropsEverything) {
  LockWaitTracker t;
  const auto now = Clock::now();
  t.Activate({LockWaitState{"a", 1, 7, 100}}, now);
  t.Deactivate();
  EXPECT_FALSE(t.active());
  EXPECT_TRUE(t.TakeExpired(now + 1s).empty());
}

}  // namespace
}  // namespace coord::server
