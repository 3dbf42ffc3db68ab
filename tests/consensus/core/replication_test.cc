// Log replication: commit across the cluster, catch-up, fast backtracking, flow
// control (in-flight window by count and bytes, bytes per message).
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

int CountAppends(const std::vector<pb::Message>& msgs, NodeId to, bool with_entries) {
  int n = 0;
  for (const auto& m : msgs) {
    if (m.type() == pb::MSG_APPEND && m.to() == to && (!with_entries || m.entries_size() > 0)) {
      ++n;
    }
  }
  return n;
}

TEST(ReplicationTest, ProposalsCommitEverywhereInOrder) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  auto first = net.node(1).ProposeBatch({"a", "b", "c"});
  ASSERT_TRUE(first.ok());
  auto single = net.node(1).Propose("d");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(*single, *first + 3);
  net.DeliverAll();
  for (NodeId id : net.ids()) {
    EXPECT_EQ(net.applied(id).at(*first).data, "a");
    EXPECT_EQ(net.applied(id).at(*first + 2).data, "c");
    EXPECT_EQ(net.applied(id).at(*single).data, "d");
    EXPECT_EQ(net.node(id).commit(), *single);
  }
  // Followers refuse proposals and name the leader.
  auto r = net.node(2).Propose("x");
  EXPECT_EQ(r.status().code(), StatusCode::kNotLeader);
  EXPECT_NE(r.status().message().find("1"), std::string::npos);
}

TEST(ReplicationTest, IsolatedFollowerCatchesUp) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(net.node(1).Propose("v" + std::to_string(i)).ok());
  net.DeliverAll();
  Index last = net.node(1).last_index();
  EXPECT_EQ(net.node(1).commit(), last);  // 1 and 2 are a quorum
  EXPECT_LT(net.node(3).last_index(), last);
  net.Recover();
  net.Run(3);
  EXPECT_EQ(net.node(3).last_index(), last);
  EXPECT_EQ(net.applied_index(3), last);
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(ReplicationTest, FastBacktrackingSkipsAConflictingTermInOneStep) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Elect(1);
  Index base = net.node(1).commit();
  // The old leader appends 50 entries nobody else gets (uncommitted, term 2).
  net.Isolate(1);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(net.node(1).Propose("stale").ok());
  net.DeliverAll();
  // 2 becomes leader in a newer term and commits 30 entries with 3; then 3 takes
  // over in a still newer term, so its probe of 1 starts far beyond where the
  // logs diverge.
  net.node(2).Campaign();
  net.DeliverAll();
  ASSERT_EQ(net.node(2).role(), Role::kLeader);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(net.node(2).Propose("new").ok());
  net.DeliverAll();
  net.node(3).Campaign();
  net.DeliverAll();
  ASSERT_EQ(net.node(3).role(), Role::kLeader);
  net.Recover();
  net.ClearSent();
  net.Run(2);
  int rejects = 0;
  for (const auto& m : net.sent()) {
    if (m.type() == pb::MSG_APPEND_RESP && m.from() == 1 && m.reject()) ++rejects;
  }
  // Without the hint this takes ~50 rejections (one per entry).
  EXPECT_GE(rejects, 1);
  EXPECT_LE(rejects, 2);
  EXPECT_EQ(net.node(1).last_index(), net.node(3).last_index());
  EXPECT_EQ(net.node(1).TermAt(base + 1), net.node(2).term() - 1);
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(ReplicationTest, FollowerWithShorterLogIsProbedFromItsEnd) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.DeliverAll();
  net.Recover();
  net.ClearSent();
  net.Run(2);
  int rejects = 0;
  for (const auto& m : net.sent()) {
    if (m.type() == pb::MSG_APPEND_RESP && m.from() == 3 && m.reject()) ++rejects;
  }
  EXPECT_LE(rejects, 1);
  EXPECT_EQ(net.node(3).last_index(), net.node(1).last_index());
}

TEST(ReplicationTest, InflightWindowLimitsMessagesByCount) {
  TestNetwork net({1, 2}, {}, [](Config& c) {
    c.max_inflight_msgs = 2;
    c.max_msg_bytes = 1;  // one entry per APPEND
  });
  net.Elect(1);
  net.ClearSent();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.node(1).Propose("p").ok());
  net.ProcessReady(1);
  EXPECT_EQ(CountAppends(net.sent(), 2, true), 2);  // the window is full
  net.DeliverAll();  // acknowledgements open the window again until done
  EXPECT_EQ(net.node(2).commit(), net.node(1).last_index());
  EXPECT_EQ(net.applied_index(2), net.node(1).last_index());
}

TEST(ReplicationTest, InflightWindowLimitsBytes) {
  TestNetwork net({1, 2}, {}, [](Config& c) {
    c.max_inflight_msgs = 100;
    c.max_msg_bytes = 1;
    c.max_inflight_bytes = 250;  // entries are ~100 bytes each
  });
  net.Elect(1);
  net.ClearSent();
  std::vector<std::string> batch(10, std::string(96, 'z'));
  ASSERT_TRUE(net.node(1).ProposeBatch(batch).ok());
  net.ProcessReady(1);
  EXPECT_EQ(CountAppends(net.sent(), 2, true), 3);  // 100 + 100 + 100 >= 250
  net.DeliverAll();
  EXPECT_EQ(net.node(2).commit(), net.node(1).last_index());
}

TEST(ReplicationTest, MaxMsgBytesSplitsAppends) {
  TestNetwork net({1, 2}, {}, [](Config& c) { c.max_msg_bytes = 250; });
  net.Elect(1);
  net.ClearSent();
  std::vector<std::string> batch(10, std::string(96, 'z'));
  ASSERT_TRUE(net.node(1).ProposeBatch(batch).ok());
  net.ProcessReady(1);
  int msgs = 0;
  for (const auto& m : net.sent()) {
    if (m.type() != pb::MSG_APPEND || m.to() != 2 || m.entries_size() == 0) continue;
    ++msgs;
    uint64_t bytes = 0;
    for (const auto& e : m.entries()) bytes += e.ByteSizeLong();
    EXPECT_LE(bytes, 250u);
  }
  EXPECT_EQ(msgs, 5);  // two ~100-byte entries per message
  net.DeliverAll();
  EXPECT_EQ(net.node(2).commit(), net.node(1).last_index());
}

TEST(ReplicationTest, UnreachableFollowerIsProbedNotPipelined) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.node(1).ReportUnreachable(2);
  net.ClearSent();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.node(1).Propose("u").ok());
  net.ProcessReady(1);
  EXPECT_EQ(CountAppends(net.sent(), 2, false), 1);  // one probe, then wait
  EXPECT_EQ(CountAppends(net.sent(), 3, true), 3);   // still pipelining to 3
  net.DeliverAll();
  EXPECT_EQ(net.node(2).commit(), net.node(1).last_index());
}

TEST(ReplicationTest, SurvivesMessageLoss) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.SetDropRate(0.3, 5);
  int proposed = 0;
  for (int round = 0; round < 200; ++round) {
    NodeId l = net.Leader();
    if (l != kNoNode && net.node(l).Propose("r" + std::to_string(round)).ok()) ++proposed;
    net.Run(1);
  }
  net.Recover();
  net.Run(30);
  NodeId l = net.Leader();
  ASSERT_NE(l, kNoNode);
  for (NodeId id : net.ids()) EXPECT_EQ(net.node(id).commit(), net.node(l).last_index());
  EXPECT_GT(proposed, 50);
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(ReplicationTest, HeartbeatCommitNeverExceedsFollowerMatch) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.node(1).Propose("x").ok());
  net.DeliverAll();
  Index match3 = net.node(3).last_index();
  net.Recover();
  // Only heartbeats pass: 3 must not be told a commit beyond what it holds.
  net.SetFilter([](pb::Message& m) { return m.type() != pb::MSG_APPEND; });
  net.ClearSent();
  net.Tick(1);
  net.DeliverAll();
  bool saw = false;
  for (const auto& m : net.sent()) {
    if (m.type() == pb::MSG_HEARTBEAT && m.to() == 3) {
      saw = true;
      EXPECT_LE(m.commit(), match3);
    }
  }
  EXPECT_TRUE(saw);
  EXPECT_LE(net.node(3).commit(), match3);
}

}  // namespace
}  // namespace coord::raft::testing
