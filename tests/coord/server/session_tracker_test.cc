#include "server/session_tracker.h"

#include <gtest/gtest.h>

#include <vector>

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
  EXPECT_FALSE(t.MakeCheckpoint(now + 4s)) << "recorded 4 s ago: fresh enough";
  auto c = t.MakeCheckpoint(now + 6s);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->session_checkpoint().sessions_size(), 1);
  EXPECT_EQ(c->session_checkpoint().sessions(0).remaining_ms(), 4000);
  EXPECT_EQ(c->session_checkpoint().sessions(0).renewed_index(), 3u);
  auto late = t.MakeCheckpoint(now + 20s);
  EXPECT_EQ(late->session_checkpoint().sessions(0).remaining_ms(), 0);
}

// Defect 8: every checkpoint carried every session (100,000 sessions: one
// multi-megabyte entry every 300 ms). Now only sessions the state has not heard
// of for half their TTL, at most kMaxCheckpointSessions per command.
TEST(SessionTrackerTest, CheckpointsCarryOnlyStaleSessionsOf100k) {
  constexpr int64_t kSessions = 100'000;
  SessionTracker t;
  const auto t0 = Clock::now();
  std::vector<SessionState> sessions;
  for (int64_t id = 1; id <= kSessions; ++id) sessions.push_back(SessionState{id, 10'000, 10'000, 1});
  t.Activate(sessions, t0);
  // Every 300 ms for 3 s: nothing to checkpoint while every record is fresh.
  for (auto at = t0; at < t0 + 3s; at += 300ms) EXPECT_FALSE(t.MakeCheckpoint(at));
  // Keepalives (every ttl/3) reach all but 7 sessions.
  for (int64_t id = 1; id <= kSessions; ++id) {
    if (id % 14'000 != 0) t.OnRenewed(id, 10'000, 2, t0 + 3s);
  }
  auto c = t.MakeCheckpoint(t0 + 5s);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->session_checkpoint().sessions_size(), 7);
  EXPECT_EQ(c->session_checkpoint().sessions(0).session_id(), 14'000);
  EXPECT_EQ(c->session_checkpoint().sessions(0).remaining_ms(), 5000);
  EXPECT_LT(c->ByteSizeLong(), 200u);
  EXPECT_FALSE(t.MakeCheckpoint(t0 + 5300ms)) << "just recorded";
  // Nobody kept alive any more: checkpoints in bounded commands.
  size_t total = 0;
  for (int round = 0; round < 20; ++round) {
    auto all = t.MakeCheckpoint(t0 + 8500ms);
    if (!all) break;
    EXPECT_LE(all->session_checkpoint().sessions_size(),
              static_cast<int>(SessionTracker::kMaxCheckpointSessions));
    total += all->session_checkpoint().sessions_size();
  }
  EXPECT_EQ(total, static_cast<size_t>(kSessions - 7));
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
