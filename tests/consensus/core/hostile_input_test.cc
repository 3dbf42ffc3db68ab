// Hostile peer input: numbers no real member sends (a term near 2^64, an index
// that would overflow) are refused by Step without changing the member, so a
// forged packet can neither wrap the term nor leave state the member cannot
// restart from.
#include <gtest/gtest.h>

#include <limits>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

pb::Message Heartbeat(NodeId from, NodeId to, Term term) {
  pb::Message m;
  m.set_type(pb::MSG_HEARTBEAT);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

TEST(HostileInputTest, ATermNearTwoToTheSixtyFourIsRefusedAndChangesNothing) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  const Term before = net.node(2).term();
  const Status s =
      net.node(2).Step(Heartbeat(1, 2, std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(net.node(2).term(), before);
  EXPECT_EQ(net.node(2).leader(), 1u);
  // The ensemble carries on at its term.
  EXPECT_NE(net.ProposeAndDeliver("after"), 0u);
  EXPECT_EQ(net.node(2).term(), before);
}

TEST(HostileInputTest, JustAboveTheMaximumTermIsRefusedTheMaximumItselfIsNot) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  EXPECT_EQ(net.node(3).Step(Heartbeat(1, 3, kMaxTerm + 1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(net.node(3).Step(Heartbeat(1, 3, kMaxTerm)).ok());
  EXPECT_EQ(net.node(3).term(), kMaxTerm);
}

TEST(HostileInputTest, AMemberAtTheMaximumTermNeverWrapsWhenItCampaigns) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  ASSERT_TRUE(net.node(3).Step(Heartbeat(1, 3, kMaxTerm)).ok());
  net.Isolate(3);
  for (int i = 0; i < 100; ++i) {
    net.Tick(3);
    net.DeliverAll();
  }
  EXPECT_EQ(net.node(3).term(), kMaxTerm);
  EXPECT_NE(net.node(3).role(), Role::kLeader);
  // What it persisted is a state it can start from.
  net.Restart(3);
  EXPECT_EQ(net.node(3).term(), kMaxTerm);
}

TEST(HostileInputTest, IndexesThatWouldOverflowAreRefused) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  const Index commit = net.node(2).commit();
  pb::Message append;
  append.set_type(pb::MSG_APPEND);
  append.set_from(1);
  append.set_to(2);
  append.set_term(net.node(1).term());
  append.set_index(std::numeric_limits<uint64_t>::max());
  append.set_log_term(net.node(1).term());
  pb::Entry* e = append.add_entries();
  e->set_index(0);  // index + 1 wrapped
  e->set_term(net.node(1).term());
  EXPECT_EQ(net.node(2).Step(append).code(), StatusCode::kInvalidArgument);

  pb::Message hb = Heartbeat(1, 2, net.node(1).term());
  hb.set_commit(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(net.node(2).Step(hb).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(2).commit(), commit);
}

TEST(HostileInputTest, ASnapshotChunkFromTheFutureIsRefused) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  pb::Message m;
  m.set_type(pb::MSG_SNAPSHOT);
  m.set_from(1);
  m.set_to(2);
  m.set_term(net.node(1).term());
  m.mutable_snapshot()->mutable_metadata()->set_index(100);
  m.mutable_snapshot()->mutable_metadata()->set_term(net.node(1).term() + 5);
  m.mutable_snapshot()->set_total_size(1);
  m.mutable_snapshot()->set_data("x");
  m.mutable_snapshot()->set_done(true);
  EXPECT_EQ(net.node(2).Step(m).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coord::raft::testing
