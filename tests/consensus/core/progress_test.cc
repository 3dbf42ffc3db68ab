#include "core/progress.h"

#include <gtest/gtest.h>

namespace coord::raft {
namespace {

TEST(InflightsTest, LimitsByCount) {
  Inflights in(3, 0);
  EXPECT_FALSE(in.Full());
  in.Add(1, 10);
  in.Add(2, 10);
  EXPECT_FALSE(in.Full());
  in.Add(5, 10);
  EXPECT_TRUE(in.Full());
  in.FreeLE(2);
  EXPECT_EQ(in.Count(), 1);
  EXPECT_FALSE(in.Full());
  // The ring wraps around correctly.
  in.Add(6, 1);
  in.Add(9, 1);
  EXPECT_TRUE(in.Full());
  in.FreeLE(6);
  EXPECT_EQ(in.Count(), 1);
  EXPECT_EQ(in.Bytes(), 1u);
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 0);
  EXPECT_EQ(in.Bytes(), 0u);
}

TEST(InflightsTest, LimitsByBytes) {
  Inflights in(100, 100);
  in.Add(1, 60);
  EXPECT_FALSE(in.Full());
  in.Add(2, 50);
  EXPECT_TRUE(in.Full());
  in.FreeLE(1);
  EXPECT_FALSE(in.Full());
  EXPECT_EQ(in.Bytes(), 50u);
  in.Reset();
  EXPECT_EQ(in.Count(), 0);
}

TEST(InflightsTest, FreeBelowEverythingIsANoOp) {
  Inflights in(4, 0);
  in.Add(10, 1);
  in.FreeLE(9);
  EXPECT_EQ(in.Count(), 1);
}

TEST(ProgressTest, ProbePausesAfterOneSend) {
  Progress pr(5, 4, 0);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_FALSE(pr.IsPaused());
  pr.probe_sent = true;
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_TRUE(pr.MaybeUpdate(4));  // an acknowledgement un-pauses
  EXPECT_FALSE(pr.IsPaused());
  EXPECT_EQ(pr.match, 4u);
  EXPECT_EQ(pr.next, 5u);
  EXPECT_FALSE(pr.MaybeUpdate(3));  // stale
  EXPECT_EQ(pr.match, 4u);
}

TEST(ProgressTest, ReplicatePausesWhenWindowFull) {
  Progress pr(1, 2, 0);
  pr.BecomeReplicate();
  pr.OptimisticUpdate(3);
  pr.inflights.Add(3, 1);
  EXPECT_FALSE(pr.IsPaused());
  pr.OptimisticUpdate(6);
  pr.inflights.Add(6, 1);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.next, 7u);
}

TEST(ProgressTest, MaybeDecrToInReplicate) {
  Progress pr(1, 8, 0);
  pr.match = 5;
  pr.BecomeReplicate();
  pr.next = 10;
  EXPECT_FALSE(pr.MaybeDecrTo(5, 0));  // rejection at or below match: stale
  EXPECT_EQ(pr.next, 10u);
  EXPECT_TRUE(pr.MaybeDecrTo(8, 0));
  EXPECT_EQ(pr.next, 6u);  // back to match + 1
}

TEST(ProgressTest, MaybeDecrToInProbe) {
  Progress pr(10, 8, 0);
  pr.probe_sent = true;
  EXPECT_FALSE(pr.MaybeDecrTo(7, 3));  // not the index we probed: stale
  EXPECT_EQ(pr.next, 10u);
  EXPECT_TRUE(pr.MaybeDecrTo(9, 3));
  EXPECT_EQ(pr.next, 4u);  // jumps to hint + 1
  EXPECT_FALSE(pr.IsPaused());
  // Never below match + 1.
  pr.match = 2;
  pr.next = 4;
  EXPECT_TRUE(pr.MaybeDecrTo(3, 0));
  EXPECT_EQ(pr.next, 3u);
}

TEST(ProgressTest, SnapshotStateIsPausedAndProbesAfter) {
  Progress pr(3, 8, 0);
  pr.BecomeSnapshot(20);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.pending_snapshot, 20u);
  pr.BecomeProbe();
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, 21u);
  EXPECT_EQ(pr.pending_snapshot, 0u);
}

}  // namespace
}  // namespace coord::raft
