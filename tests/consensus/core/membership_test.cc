// Single-server membership changes: add/remove, the commit-first rule, rollback
// on truncation, removed leader steps down, restart replays changes.
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

std::vector<NodeId> Voters(Raft& r) {
  auto cs = r.conf_state();
  return {cs.voters().begin(), cs.voters().end()};
}

std::vector<NodeId> Learners(Raft& r) {
  auto cs = r.conf_state();
  return {cs.learners().begin(), cs.learners().end()};
}

TEST(MembershipTest, AddVoterJoinsAndCountsForQuorum) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.AddJoiningNode(4);
  EXPECT_TRUE(Voters(net.node(4)).empty());
  auto idx = net.node(1).ProposeConfChange(Change(pb::CONF_ADD_VOTER, 4));
  ASSERT_TRUE(idx.ok()) << idx.status();
  // Effective on append, before commit.
  EXPECT_EQ(Voters(net.node(1)), (std::vector<NodeId>{1, 2, 3, 4}));
  net.DeliverAll();
  net.Run(2);
  for (NodeId id : {1, 2, 3, 4}) {
    EXPECT_EQ(Voters(net.node(id)), (std::vector<NodeId>{1, 2, 3, 4})) << id;
    EXPECT_GE(net.applied_index(id), *idx) << id;
  }
  // Four voters: a majority is three, so {1, 2} alone cannot commit.
  net.Isolate(3);
  net.Isolate(4);
  Index before = net.node(1).commit();
  ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.DeliverAll();
  EXPECT_EQ(net.node(1).commit(), before);
  net.Recover();
  net.Run(2);
  EXPECT_GT(net.node(1).commit(), before);
  EXPECT_EQ(net.applied(4).rbegin()->second.data, "x");
}

TEST(MembershipTest, LeaderMustCommitInItsTermFirstAndOneChangeAtATime) {
  TestNetwork net({1, 2, 3});
  // Elect 1, but hold back its appends so its no-op stays uncommitted.
  net.SetFilter([](pb::Message& m) { return m.type() != pb::MSG_APPEND; });
  ASSERT_EQ(net.Elect(1), 1u);
  auto early = net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 4));
  EXPECT_EQ(early.status().code(), StatusCode::kUnavailable);
  net.Recover();
  net.Run(1);
  auto first = net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 4));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 5));
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  net.DeliverAll();
  auto third = net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 5));
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(MembershipTest, NonsensicalChangesAreRejected) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  EXPECT_EQ(net.node(1).ProposeConfChange(Change(pb::CONF_ADD_VOTER, 2)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(1).ProposeConfChange(Change(pb::CONF_REMOVE_NODE, 9)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 3)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(1).ProposeConfChange(Change(pb::CONF_ADD_VOTER, 0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(2).ProposeConfChange(Change(pb::CONF_ADD_VOTER, 4)).status().code(),
            StatusCode::kNotLeader);
  TestNetwork single({1});
  single.Elect(1);
  EXPECT_EQ(single.node(1).ProposeConfChange(Change(pb::CONF_REMOVE_NODE, 1)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MembershipTest, RemoveFollowerShrinksTheQuorum) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  ASSERT_TRUE(net.node(1).ProposeConfChange(Change(pb::CONF_REMOVE_NODE, 3)).ok());
  net.DeliverAll();
  EXPECT_EQ(Voters(net.node(1)), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(Voters(net.node(2)), (std::vector<NodeId>{1, 2}));
  net.ClearSent();
  Index idx = net.ProposeAndDeliver("after-removal");
  ASSERT_NE(idx, 0u);
  EXPECT_EQ(net.node(1).commit(), idx);
  for (const auto& m : net.sent()) EXPECT_NE(m.to(), 3u) << "leader still talks to 3";
  // The removed node never campaigns (it is not a voter in its own view).
  Term t = net.node(3).term();
  for (int i = 0; i < 60; ++i) {
    net.Tick(3);
    net.DeliverAll();
  }
  EXPECT_EQ(net.node(3).role(), Role::kFollower);
  EXPECT_EQ(net.node(3).term(), t);
}

TEST(MembershipTest, RemovedLeaderStepsDownOnceTheRemovalCommits) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  // Hold back acknowledgements: the leader keeps leading while the removal is
  // uncommitted (and does not count itself).
  net.SetFilter([](pb::Message& m) { return m.type() != pb::MSG_APPEND_RESP; });
  auto idx = net.node(1).ProposeConfChange(Change(pb::CONF_REMOVE_NODE, 1));
  ASSERT_TRUE(idx.ok()) << idx.status();
  net.DeliverAll();
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_LT(net.node(1).commit(), *idx);
  net.Recover();
  net.Run(1);
  EXPECT_GE(net.node(1).commit(), *idx);
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_EQ(Voters(net.node(2)), (std::vector<NodeId>{2, 3}));
  // 2 and 3 elect a leader between them; 1 never becomes leader again.
  net.Run(40);
  NodeId l = net.Leader();
  EXPECT_TRUE(l == 2 || l == 3) << l;
  EXPECT_NE(net.node(1).role(), Role::kLeader);
  Index after = net.ProposeAndDeliver("next");
  EXPECT_NE(after, 0u);
  EXPECT_EQ(net.node(l == 2 ? 3 : 2).commit(), after);
}

TEST(MembershipTest, TruncatedChangeIsRolledBack) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.check_quorum = false; });
  net.Elect(1);
  net.Isolate(1);
  // The isolated leader appends a change nobody else gets.
  ASSERT_TRUE(net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 9)).ok());
  net.DeliverAll();
  EXPECT_EQ(Learners(net.node(1)), (std::vector<NodeId>{9}));
  // 2 and 3 move on without it.
  for (int i = 0; i < 40 && net.Leader() == 1; ++i) {
    net.Tick(2);
    net.Tick(3);
    net.DeliverAll();
  }
  NodeId l = net.node(2).role() == Role::kLeader ? 2 : 3;
  ASSERT_EQ(net.node(l).role(), Role::kLeader);
  ASSERT_TRUE(net.node(l).Propose("new-era").ok());
  net.DeliverAll();
  net.Recover();
  net.Run(3);
  // 1's uncommitted change was overwritten, and with it the learner is gone.
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_TRUE(Learners(net.node(1)).empty());
  EXPECT_EQ(Voters(net.node(1)), (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(net.node(1).last_index(), net.node(l).last_index());
}

TEST(MembershipTest, RestartReplaysChangesFromTheLog) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  ASSERT_TRUE(net.node(1).ProposeConfChange(Change(pb::CONF_ADD_LEARNER, 7)).ok());
  net.DeliverAll();
  ASSERT_TRUE(net.node(1).ProposeConfChange(Change(pb::CONF_REMOVE_NODE, 3)).ok());
  net.DeliverAll();
  net.Restart(2);
  EXPECT_EQ(Voters(net.node(2)), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(Learners(net.node(2)), (std::vector<NodeId>{7}));
  // And on top of a snapshot that already contains part of them.
  net.Compact(2, 0);
  net.Restart(2);
  EXPECT_EQ(Voters(net.node(2)), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(Learners(net.node(2)), (std::vector<NodeId>{7}));
}

}  // namespace
}  // namespace coord::raft::testing
