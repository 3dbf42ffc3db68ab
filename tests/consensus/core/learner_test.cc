// Learners: receive replication, never vote or count; promotion to voter.
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

pb::ConfChange Change(pb::ConfChangeType type, NodeId id) {
  pb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  return cc;
}

TEST(LearnerTest, LearnerReplicatesButNeverCampaigns) {
  TestNetwork net({1, 2, 3}, {4});
  auto cs = net.node(4).conf_state();
  ASSERT_EQ(cs.learners_size(), 1);
  EXPECT_EQ(cs.learners(0), 4u);
  net.Elect(1);
  Index idx = net.ProposeAndDeliver("to-learner");
  EXPECT_EQ(net.applied(4).at(idx).data, "to-learner");
  Term t = net.node(4).term();
  net.Isolate(4);
  for (int i = 0; i < 100; ++i) {
    net.Tick(4);
    net.DeliverAll();
  }
  EXPECT_EQ(net.node(4).role(), Role::kFollower);
  EXPECT_EQ(net.node(4).term(), t);
  net.node(4).Campaign();  // even when asked explicitly
  EXPECT_EQ(net.node(4).role(), Role::kFollower);
}

TEST(LearnerTest, LearnersDoNotCountForCommit) {
  TestNetwork net({1, 2}, {3});
  net.Elect(1);
  net.Isolate(2);
  Index before = net.node(1).commit();
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.DeliverAll();
  EXPECT_EQ(net.node(3).last_index(), net.node(1).last_index());  // the learner has it
  EXPECT_EQ(net.node(1).commit(), before);                        // but it does not count
}

TEST(LearnerTest, LearnersDoNotCountForCheckQuorum) {
  TestNetwork net({1, 2, 3}, {4});
  net.Elect(1);
  net.Isolate(2);
  net.Isolate(3);
  for (int i = 0; i < 21; ++i) {
    net.Tick(1);
    net.Tick(4);
    net.DeliverAll();
  }
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
}

TEST(LearnerTest, PromotionMakesTheLearnerCount) {
  TestNetwork net({1, 2}, {3});
  net.Elect(1);
  auto idx = net.node(1).ProposeConfChange(Change(pb::CONF_ADD_VOTER, 3));
  ASSERT_TRUE(idx.ok()) << idx.status();
  net.DeliverAll();
  for (NodeId id : {1, 2, 3}) {
    auto cs = net.node(id).conf_state();
    EXPECT_EQ(cs.voters_size(), 3) << id;
    EXPECT_EQ(cs.learners_size(), 0) << id;
  }
  // Now {1, 3} is a majority of three.
  net.Isolate(2);
  Index before = net.node(1).commit();
  ASSERT_TRUE(net.node(1).Propose("y").ok());
  net.DeliverAll();
  EXPECT_GT(net.node(1).commit(), before);
  // And the promoted node can lead.
  net.Recover();
  ASSERT_TRUE(net.node(1).TransferLeadership(3).ok());
  net.DeliverAll();
  EXPECT_EQ(net.node(3).role(), Role::kLeader);
}

TEST(LearnerTest, AddLearnerToARunningCluster) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.node(1).Propose("pre").ok());
  net.DeliverAll();
  net.AddJoiningNode(5);
  ASSERT_TRUE(net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 5)).ok());
  net.DeliverAll();
  net.Run(2);
  EXPECT_EQ(net.node(5).last_index(), net.node(1).last_index());
  EXPECT_EQ(net.applied_index(5), net.node(1).commit());
  auto cs = net.node(5).conf_state();
  ASSERT_EQ(cs.learners_size(), 1);
  EXPECT_EQ(cs.learners(0), 5u);
  auto status = net.node(1).GetStatus();
  bool found = false;
  for (const auto& p : status.progress) {
    if (p.id == 5) {
      found = true;
      EXPECT_TRUE(p.learner);
      EXPECT_EQ(p.match, net.node(1).last_index());
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace coord::raft::testing
