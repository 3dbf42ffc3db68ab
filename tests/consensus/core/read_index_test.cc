// ReadIndex: on the leader, forwarded from a follower, single node, lease reads.
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

TEST(ReadIndexTest, LeaderReleasesAfterAQuorumOfHeartbeatAcks) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  Index idx = net.ProposeAndDeliver("w");
  ASSERT_TRUE(net.node(1).ReadIndex("r1").ok());
  net.ProcessReady(1);  // heartbeats sent, not yet answered
  EXPECT_TRUE(net.read_states(1).empty());
  net.DeliverAll();
  ASSERT_EQ(net.read_states(1).size(), 1u);
  EXPECT_EQ(net.read_states(1)[0].context, "r1");
  EXPECT_EQ(net.read_states(1)[0].index, idx);
}

TEST(ReadIndexTest, PartitionedLeaderNeverReleases) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.check_quorum = false; });
  net.Elect(1);
  net.Isolate(1);
  ASSERT_TRUE(net.node(1).ReadIndex("stale?").ok());
  for (int i = 0; i < 5; ++i) {
    net.Tick(1);
    net.DeliverAll();
  }
  EXPECT_TRUE(net.read_states(1).empty());
}

TEST(ReadIndexTest, OneAckIsNotEnoughInFiveNodes) {
  TestNetwork net({1, 2, 3, 4, 5});
  net.Elect(1);
  net.Isolate(3);
  net.Isolate(4);
  net.Isolate(5);
  ASSERT_TRUE(net.node(1).ReadIndex("r").ok());
  net.DeliverAll();
  EXPECT_TRUE(net.read_states(1).empty());
  net.Recover();
  net.Isolate(4);
  net.Isolate(5);
  net.Tick(1);  // the next heartbeat round reaches 2 and 3: a quorum of five
  net.DeliverAll();
  ASSERT_EQ(net.read_states(1).size(), 1u);
}

TEST(ReadIndexTest, ReadsAreReleasedInOrder) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  ASSERT_TRUE(net.node(1).ReadIndex("a").ok());
  ASSERT_TRUE(net.node(1).Propose("w").ok());
  ASSERT_TRUE(net.node(1).ReadIndex("b").ok());
  net.DeliverAll();
  ASSERT_EQ(net.read_states(1).size(), 2u);
  EXPECT_EQ(net.read_states(1)[0].context, "a");
  EXPECT_EQ(net.read_states(1)[1].context, "b");
  EXPECT_LE(net.read_states(1)[0].index, net.read_states(1)[1].index);
}

TEST(ReadIndexTest, FollowerForwardsToTheLeader) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  Index idx = net.ProposeAndDeliver("w");
  ASSERT_TRUE(net.node(2).ReadIndex("f").ok());
  net.DeliverAll();
  ASSERT_EQ(net.read_states(2).size(), 1u);
  EXPECT_EQ(net.read_states(2)[0].context, "f");
  EXPECT_EQ(net.read_states(2)[0].index, idx);
  EXPECT_TRUE(net.read_states(1).empty());  // the leader answered 2, not itself
}

TEST(ReadIndexTest, SingleNodeAnswersAtOnce) {
  TestNetwork net({1});
  net.Elect(1);
  Index idx = net.ProposeAndDeliver("w");
  net.ClearSent();
  ASSERT_TRUE(net.node(1).ReadIndex("s").ok());
  net.ProcessReady(1);
  ASSERT_EQ(net.read_states(1).size(), 1u);
  EXPECT_EQ(net.read_states(1)[0].index, idx);
}

TEST(ReadIndexTest, Errors) {
  TestNetwork net({1, 2, 3});
  EXPECT_EQ(net.node(2).ReadIndex("x").code(), StatusCode::kNotLeader);  // no leader
  // A new leader that has not committed its no-op yet.
  net.SetFilter([](pb::Message& m) { return m.type() != pb::MSG_APPEND; });
  ASSERT_EQ(net.Elect(1), 1u);
  EXPECT_EQ(net.node(1).ReadIndex("x").code(), StatusCode::kUnavailable);
}

TEST(ReadIndexTest, LeaseReadsAnswerWithoutAHeartbeatRound) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.lease_reads = true; });
  net.Elect(1);
  net.Run(1);  // one acknowledged heartbeat round establishes the lease
  net.ClearSent();
  ASSERT_TRUE(net.node(1).ReadIndex("lease").ok());
  net.ProcessReady(1);
  ASSERT_EQ(net.read_states(1).size(), 1u);
  for (const auto& m : net.sent()) EXPECT_NE(m.type(), pb::MSG_HEARTBEAT);
  // Without acknowledgements for an election timeout the lease expires and the
  // read falls back to a heartbeat round (which cannot complete here).
  net.Isolate(1);
  for (int i = 0; i < 9; ++i) net.Tick(1);
  net.DeliverAll();
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  ASSERT_TRUE(net.node(1).ReadIndex("expired").ok());
  net.DeliverAll();
  EXPECT_EQ(net.read_states(1).size(), 1u);
}

TEST(ReadIndexTest, LeaseReadsNeedCheckQuorum) {
  Config c = TestNetwork::DefaultConfig();
  c.id = 1;
  c.peers = {1};
  c.lease_reads = true;
  c.check_quorum = false;
  MemoryStorage s;
  EXPECT_EQ(Raft::Create(c, &s).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coord::raft::testing
