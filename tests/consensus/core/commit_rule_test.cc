// The commit rule (§5.4.2, Figure 8 of the Raft paper): a leader never commits
// an entry of an earlier term by counting replicas.
//
// # why: indexes here are shifted by the 5 bootstrap entries and the first
// leader's no-op (index 6); "index 2" of the paper is index 7.
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

bool HasEntry(const pb::Message& m, Index index) {
  for (const auto& e : m.entries()) {
    if (e.index() == index) return true;
  }
  return false;
}

TEST(CommitRuleTest, Figure8) {
  TestNetwork net({1, 2, 3, 4, 5}, {}, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
    c.max_msg_bytes = 1;  // one entry per APPEND, so single entries can be dropped
  });
  ASSERT_EQ(net.Elect(1), 1u);  // term 2
  ASSERT_EQ(net.node(1).commit(), 6u);

  // (a) S1 replicates index 7 (term 2) to S2 only.
  net.Isolate(3);
  net.Isolate(4);
  net.Isolate(5);
  ASSERT_EQ(*net.node(1).Propose("a"), 7u);
  net.DeliverAll();
  EXPECT_EQ(net.node(2).last_index(), 7u);
  EXPECT_EQ(net.node(1).commit(), 6u);

  // (b) S1 crashes; S5 is elected in term 3 by S3, S4, S5 and appends index 7
  // (its no-op, term 3) locally only.
  net.Recover();
  net.Isolate(1);
  net.SetFilter([](pb::Message& m) { return !(m.from() == 5 && m.type() == pb::MSG_APPEND); });
  ASSERT_EQ(net.Elect(5), 5u);
  EXPECT_EQ(net.node(5).term(), 3u);
  EXPECT_EQ(net.node(5).TermAt(7), 3u);

  // (c) S5 crashes; S1 comes back and is elected in term 4 (S2, S3, S4); it
  // replicates index 7 (term 2) to S3 — now on a majority — but not its own
  // term-4 entry (index 8).
  net.Recover();
  net.Isolate(5);
  net.SetFilter([](pb::Message& m) {
    // Strip index 8 from S1's appends (the probes themselves still get through).
    if (m.from() == 1 && m.type() == pb::MSG_APPEND && HasEntry(m, 8)) {
      while (m.entries_size() > 0 && m.entries(m.entries_size() - 1).index() >= 8) {
        m.mutable_entries()->RemoveLast();
      }
    }
    return true;
  });
  net.Restart(1);
  for (int i = 0; i < 3 && net.node(1).role() != Role::kLeader; ++i) {
    net.node(1).Campaign();  // term 3 loses (S3, S4 voted for S5), term 4 wins
    net.DeliverAll();
  }
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).term(), 4u);
  net.Run(3);
  EXPECT_EQ(net.node(3).TermAt(7), 2u);
  EXPECT_EQ(net.node(2).TermAt(7), 2u);
  // Index 7 is on S1, S2, S3 — a majority — yet must not be committed.
  EXPECT_EQ(net.node(1).commit(), 6u);
  for (NodeId id : net.ids()) EXPECT_EQ(net.applied_index(id), 6u) << id;

  // (d) S1 crashes; S5 is elected again (its last term 3 beats term 2) and
  // overwrites index 7 everywhere. Had S1 committed 7 in (c), this would erase a
  // committed entry.
  net.Recover();
  net.Isolate(1);
  net.Restart(5);
  for (int i = 0; i < 3 && net.node(5).role() != Role::kLeader; ++i) {
    net.node(5).Campaign();
    net.DeliverAll();
  }
  ASSERT_EQ(net.node(5).role(), Role::kLeader);
  net.Run(2);
  for (NodeId id : {2, 3, 4, 5}) {
    EXPECT_EQ(net.node(id).TermAt(7), 3u) << id;
    EXPECT_EQ(net.applied(id).at(7).term, 3u) << id;
  }
  // S1 rejoins and converges too.
  net.Recover();
  net.Run(30);
  EXPECT_EQ(net.node(1).TermAt(7), 3u);
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(CommitRuleTest, EarlierTermEntryCommitsWithACurrentTermEntry) {
  // (e) of Figure 8: once an entry of the leader's term reaches a majority, the
  // earlier-term entries before it commit too.
  TestNetwork net({1, 2, 3}, {}, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Elect(1);
  net.Isolate(3);
  net.SetFilter([](pb::Message& m) { return m.type() != pb::MSG_APPEND_RESP; });
  Index old = *net.node(1).Propose("old");  // reaches 2, never acknowledged
  net.DeliverAll();
  EXPECT_EQ(net.node(1).commit(), old - 1);
  net.Recover();
  net.Isolate(3);
  // 1 stays leader? No: re-elect 2 (it holds `old`) in a new term.
  net.Isolate(1);
  net.Recover();
  net.Isolate(1);
  ASSERT_EQ(net.Elect(2), 2u);
  // 2's no-op (current term) commits with 3 and carries `old` with it.
  EXPECT_GT(net.node(2).commit(), old);
  EXPECT_EQ(net.applied(3).at(old).data, "old");
}

}  // namespace
}  // namespace coord::raft::testing
