// Leadership transfer (TimeoutNow).
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

TEST(TransferTest, ToAnUpToDateFollower) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  Term t = net.node(1).term();
  ASSERT_TRUE(net.node(1).TransferLeadership(2).ok());
  // Proposals are refused while the transfer is in progress.
  EXPECT_EQ(net.node(1).Propose("x").status().code(), StatusCode::kAborted);
  net.DeliverAll();
  EXPECT_EQ(net.node(2).role(), Role::kLeader);
  EXPECT_EQ(net.node(2).term(), t + 1);
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_EQ(net.node(1).leader(), 2u);
  EXPECT_NE(net.ProposeAndDeliver("y"), 0u);
}

TEST(TransferTest, ToALaggingFollowerReplicatesFirst) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.node(1).Propose("p").ok());
  net.DeliverAll();
  Index last = net.node(1).last_index();
  net.Recover();
  net.ClearSent();
  ASSERT_TRUE(net.node(1).TransferLeadership(3).ok());
  net.DeliverAll();
  // TIMEOUT_NOW only after 3 caught up.
  bool timeout_now = false;
  for (const auto& m : net.sent()) {
    if (m.type() == pb::MSG_TIMEOUT_NOW) {
      timeout_now = true;
      EXPECT_EQ(m.to(), 3u);
    }
  }
  EXPECT_TRUE(timeout_now);
  EXPECT_EQ(net.node(3).role(), Role::kLeader);
  EXPECT_GE(net.node(3).last_index(), last + 1);  // everything plus its no-op
  EXPECT_EQ(net.applied(3).at(last).data, "p");
}

TEST(TransferTest, AbandonedAfterAnElectionTimeout) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).TransferLeadership(3).ok());
  net.DeliverAll();
  EXPECT_EQ(net.node(1).Propose("x").status().code(), StatusCode::kAborted);
  for (int i = 0; i < 10; ++i) {
    net.Tick(1);
    net.Tick(2);
    net.DeliverAll();
  }
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_TRUE(net.node(1).Propose("x").ok());
}

TEST(TransferTest, Errors) {
  TestNetwork net({1, 2, 3}, {4});
  net.Elect(1);
  EXPECT_EQ(net.node(2).TransferLeadership(3).code(), StatusCode::kNotLeader);
  EXPECT_EQ(net.node(1).TransferLeadership(4).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(1).TransferLeadership(9).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(net.node(1).TransferLeadership(1).ok());  // already the leader
  EXPECT_TRUE(net.node(1).Propose("still-leader").ok());
}

TEST(TransferTest, TransferBypassesStickinessButPreVoteCampaignsDoNot) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  // A plain campaign by 3 is ignored by followers that hear from the leader.
  net.node(3).Campaign();
  net.DeliverAll();
  EXPECT_EQ(net.Leader(), 1u);
  // A transfer-initiated one is not.
  ASSERT_TRUE(net.node(1).TransferLeadership(3).ok());
  net.DeliverAll();
  EXPECT_EQ(net.Leader(), 3u);
}

}  // namespace
}  // namespace coord::raft::testing
