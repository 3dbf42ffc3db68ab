// Elections: basic, single voter, pre-vote, check-quorum, leader stickiness,
// up-to-date log rule, determinism.
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

TEST(ElectionTest, CampaignElectsALeaderAndCommitsItsNoOp) {
  TestNetwork net({1, 2, 3});
  EXPECT_EQ(net.Elect(1), 1u);
  EXPECT_EQ(net.node(1).term(), 2u);  // bootstrap term 1, election term 2
  for (NodeId id : net.ids()) {
    EXPECT_EQ(net.node(id).leader(), 1u);
    EXPECT_EQ(net.node(id).role(), id == 1 ? Role::kLeader : Role::kFollower);
    // 3 bootstrap conf entries + the leader's no-op.
    EXPECT_EQ(net.node(id).commit(), 4u);
    EXPECT_EQ(net.applied_index(id), 4u);
  }
  const AppliedEntry& noop = net.applied(2).at(4);
  EXPECT_EQ(noop.type, pb::ENTRY_NORMAL);
  EXPECT_TRUE(noop.data.empty());
  EXPECT_EQ(noop.term, 2u);
}

TEST(ElectionTest, TicksEventuallyElectExactlyOneLeader) {
  TestNetwork net({1, 2, 3, 4, 5});
  net.Run(30);
  NodeId l = net.Leader();
  ASSERT_NE(l, kNoNode);
  int leaders = 0;
  for (NodeId id : net.ids()) {
    if (net.node(id).role() == Role::kLeader) ++leaders;
    EXPECT_EQ(net.node(id).leader(), l);
  }
  EXPECT_EQ(leaders, 1);
}

TEST(ElectionTest, SingleVoterElectsItselfOnFirstTimeout) {
  TestNetwork net({1});
  int ticks = 0;
  while (net.node(1).role() != Role::kLeader && ticks < 20) {
    net.Tick(1);
    net.DeliverAll();
    ++ticks;
  }
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_GE(ticks, 10);  // randomized in [election_tick, 2 * election_tick)
  EXPECT_LT(ticks, 20);
  auto idx = net.node(1).Propose("x");
  ASSERT_TRUE(idx.ok());
  net.DeliverAll();
  EXPECT_EQ(net.applied(1).at(*idx).data, "x");
}

TEST(ElectionTest, VoteGoesOnlyToAnUpToDateLog) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  // 3 misses an entry.
  net.Isolate(3);
  net.ProposeAndDeliver("a");
  net.Recover();
  // Leader 1 goes away; 3 (behind) cannot win; 2 can.
  net.Isolate(1);
  net.node(3).Campaign();
  net.DeliverAll();
  EXPECT_NE(net.node(3).role(), Role::kLeader);
  // Campaign() with pre-vote: 2 is sticky to leader 1 within the election timeout,
  // so let time pass first.
  for (int i = 0; i < 20; ++i) {
    net.Tick(2);
    net.Tick(3);
    net.DeliverAll();
  }
  NodeId l = net.Leader();
  // The leader of the highest term must be 2 (the only up-to-date reachable node).
  EXPECT_EQ(net.node(2).role(), Role::kLeader);
  EXPECT_EQ(l == 2 || l == 1, true);
  EXPECT_EQ(net.node(3).leader(), 2u);
}

TEST(ElectionTest, PreVoteKeepsAPartitionedNodeFromBumpingTerms) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  Term t = net.node(1).term();
  net.Isolate(3);
  for (int i = 0; i < 100; ++i) {
    net.TickAll();
    net.DeliverAll();
  }
  // 3 kept pre-campaigning without ever incrementing its term.
  EXPECT_EQ(net.node(3).term(), t);
  EXPECT_EQ(net.node(3).role(), Role::kPreCandidate);
  net.Recover();
  net.Run(5);
  // Rejoining does not disrupt the leader.
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.node(1).term(), t);
  EXPECT_EQ(net.node(3).leader(), 1u);
}

TEST(ElectionTest, WithoutPreVoteAPartitionedNodeBumpsItsTerm) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Elect(1);
  Term t = net.node(1).term();
  net.Isolate(3);
  net.Run(60);
  EXPECT_GT(net.node(3).term(), t + 1);  // the contrast with the pre-vote test
}

TEST(ElectionTest, CheckQuorumMakesAnIsolatedLeaderStepDown) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(1);
  // The first check after the election still sees the election's answers; the
  // second sees nobody.
  for (int i = 0; i < 10; ++i) net.Tick(1);
  net.DeliverAll();
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  for (int i = 0; i < 10; ++i) net.Tick(1);
  net.DeliverAll();
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_EQ(net.node(1).leader(), kNoNode);
  auto r = net.node(1).Propose("x");
  EXPECT_EQ(r.status().code(), StatusCode::kNotLeader);
}

TEST(ElectionTest, LeaderWithQuorumStaysAcrossManyTimeouts) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  Term t = net.node(1).term();
  net.Isolate(3);  // still a quorum {1, 2}
  net.Run(100);
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).term(), t);
}

TEST(ElectionTest, StickinessIgnoresVotesWhileLeaderIsAlive) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.pre_vote = false; });
  net.Elect(1);
  Term t = net.node(1).term();
  // 3 campaigns right away (no pre-vote): 1 and 2 heard from the leader recently
  // and ignore the request; the term of the cluster does not change.
  net.node(3).Campaign();
  net.DeliverQueued();
  net.DeliverAll();
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).term(), t);
  EXPECT_EQ(net.node(2).term(), t);
  // 3 is a candidate in a term nobody else adopted; the leader's heartbeats at a
  // lower term are answered, and the cluster recovers a single leader.
  net.Run(40);
  NodeId l = net.Leader();
  ASSERT_NE(l, kNoNode);
  for (NodeId id : net.ids()) EXPECT_EQ(net.node(id).leader(), l);
}

TEST(ElectionTest, StaleLeaderLearnsNewTermAndStepsDown) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(1);
  // 2 and 3 elect 2 after their timeouts.
  for (int i = 0;
       i < 40 && net.node(2).role() != Role::kLeader && net.node(3).role() != Role::kLeader; ++i) {
    net.Tick(2);
    net.Tick(3);
    net.DeliverAll();
  }
  NodeId newl = net.node(2).role() == Role::kLeader ? 2 : 3;
  ASSERT_EQ(net.node(newl).role(), Role::kLeader);
  ASSERT_EQ(net.node(1).role(), Role::kLeader);  // stale, has not noticed yet
  net.Recover();
  net.Tick(1);  // a heartbeat from the stale leader gets a higher-term answer
  net.DeliverAll();
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_GT(net.node(1).term(), 2u);
  net.Run(3);
  EXPECT_EQ(net.node(1).leader(), newl);
}

TEST(ElectionTest, SameSeedSameDecisions) {
  auto run = [] {
    TestNetwork net({1, 2, 3, 4, 5});
    net.SetDropRate(0.2, 99);
    net.Run(200);
    std::vector<std::pair<Term, NodeId>> out;
    for (NodeId id : net.ids()) out.push_back({net.node(id).term(), net.node(id).leader()});
    return std::make_pair(out, net.sent().size());
  };
  EXPECT_EQ(run(), run());
}

TEST(ElectionTest, InvalidMessagesAreRejectedNotFatal) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  pb::Message m;
  m.set_type(pb::MSG_APPEND);
  m.set_from(2);
  m.set_to(3);  // wrong destination
  m.set_term(net.node(1).term());
  EXPECT_EQ(net.node(1).Step(m).code(), StatusCode::kInvalidArgument);
  m.set_to(1);
  m.set_type(static_cast<pb::MessageType>(77));
  EXPECT_EQ(net.node(1).Step(m).code(), StatusCode::kInvalidArgument);
  // Non-contiguous entries.
  pb::Message a;
  a.set_type(pb::MSG_APPEND);
  a.set_from(1);
  a.set_to(2);
  a.set_term(net.node(1).term());
  a.set_index(4);
  a.set_log_term(net.node(1).term());
  a.add_entries()->set_index(5);
  a.mutable_entries(0)->set_term(net.node(1).term());
  a.add_entries()->set_index(7);
  a.mutable_entries(1)->set_term(net.node(1).term());
  EXPECT_EQ(net.node(2).Step(a).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(2).last_index(), 4u);
  pb::Message self;
  self.set_type(pb::MSG_HEARTBEAT);
  self.set_from(1);
  self.set_to(1);
  EXPECT_EQ(net.node(1).Step(self).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
}

}  // namespace
}  // namespace coord::raft::testing
