// The checker and the network must be able to fail: each invariant is fed a
// history that breaks it.
#include "sim_checker.h"

#include <gtest/gtest.h>

#include "sim_app.h"
#include "sim_network.h"

namespace coord::raft::sim {
namespace {

pb::Entry E(Index index, Term term, const std::string& data) {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data);
  return e;
}

TEST(SimCheckerTest, TwoLeadersInOneTermFail) {
  SimChecker c;
  c.OnLeader(1, 3);
  c.OnLeader(1, 3);
  c.OnLeader(2, 4);
  EXPECT_FALSE(c.failed());
  c.OnLeader(3, 4);
  EXPECT_TRUE(c.failed());
  EXPECT_NE(c.violation().find("two leaders in term 4"), std::string::npos) << c.violation();
}

TEST(SimCheckerTest, LogMatchingDetectsDifferentPayloadAndPrefix) {
  SimChecker a;
  a.OnPersistEntry(1, E(1, 1, "x"), 0);
  a.OnPersistEntry(2, E(1, 1, "x"), 0);
  a.OnPersistEntry(2, E(2, 2, "y"), 1);
  EXPECT_FALSE(a.failed());
  a.OnPersistEntry(3, E(2, 2, "z"), 1);
  EXPECT_TRUE(a.failed());

  SimChecker b;
  b.OnPersistEntry(1, E(5, 3, "q"), 2);
  b.OnPersistEntry(2, E(5, 3, "q"), 1);  // same entry, different predecessor
  EXPECT_TRUE(b.failed());
  EXPECT_NE(b.violation().find("follows"), std::string::npos) << b.violation();
}

TEST(SimCheckerTest, AppliedSequencesMustBePrefixes) {
  SimChecker c;
  SimApp app1(pb::ConfState{}), app2(pb::ConfState{});
  ASSERT_TRUE(app1.Apply(E(1, 1, "a")).ok());
  EXPECT_TRUE(c.OnApply(1, E(1, 1, "a"), app1.chain()));
  ASSERT_TRUE(app2.Apply(E(1, 1, "a")).ok());
  EXPECT_FALSE(c.OnApply(2, E(1, 1, "a"), app2.chain()));
  EXPECT_FALSE(c.failed());
  ASSERT_TRUE(app2.Apply(E(2, 1, "b")).ok());
  c.OnApply(2, E(2, 1, "b"), app2.chain());
  ASSERT_TRUE(app1.Apply(E(2, 2, "c")).ok());
  c.OnApply(1, E(2, 2, "c"), app1.chain());
  EXPECT_TRUE(c.failed());
}

TEST(SimCheckerTest, SnapshotRestoreMustMatchHistory) {
  SimChecker c;
  SimApp app(pb::ConfState{});
  ASSERT_TRUE(app.Apply(E(1, 1, "a")).ok());
  c.OnApply(1, E(1, 1, "a"), app.chain());
  c.OnRestore(2, 1, 1, app.chain());
  EXPECT_FALSE(c.failed());
  c.OnRestore(2, 1, 1, app.chain() + 1);
  EXPECT_TRUE(c.failed());
}

TEST(SimCheckerTest, LeaderCompletenessUsesCommitWatermarks) {
  SimChecker c;
  c.OnCommit(1, /*observer_term=*/2, /*commit=*/7, /*entry_term=*/2);
  // A leader of term 2 need not be checked against its own term's watermark.
  c.CheckLeaderLog(
      3, 2, [](Index) { return Term{0}; }, 0);
  EXPECT_FALSE(c.failed());
  // A leader of term 3 holding (7,2) is fine; one covering 7 by snapshot too.
  c.CheckLeaderLog(
      1, 3, [](Index i) { return i == 7 ? Term{2} : Term{0}; }, 0);
  c.CheckLeaderLog(
      2, 3, [](Index) { return Term{0}; }, 9);
  EXPECT_FALSE(c.failed());
  c.CheckLeaderLog(
      3, 4, [](Index i) { return i == 7 ? Term{1} : Term{0}; }, 0);
  EXPECT_TRUE(c.failed());
  EXPECT_NE(c.violation().find("leader completeness"), std::string::npos);
}

TEST(SimCheckerTest, PersistedVoteNeverChanges) {
  SimChecker c;
  pb::HardState hs;
  hs.set_term(5);
  hs.set_vote(2);
  c.OnPersistHardState(1, hs);
  hs.set_commit(9);
  c.OnPersistHardState(1, hs);
  hs.set_vote(3);
  c.OnPersistHardState(2, hs);  // another member may vote differently
  EXPECT_FALSE(c.failed());
  c.OnPersistHardState(1, hs);
  EXPECT_TRUE(c.failed());
}

TEST(SimAppTest, SnapshotImageRoundTripsAndDetectsDamage) {
  pb::ConfState conf;
  conf.add_voters(1);
  conf.add_voters(2);
  SimApp app(conf);
  ASSERT_TRUE(app.Apply(E(1, 1, "a")).ok());
  pb::ConfChange cc;
  cc.set_type(pb::CONF_ADD_LEARNER);
  cc.set_node_id(4);
  pb::Entry e2 = E(2, 1, cc.SerializeAsString());
  e2.set_type(pb::ENTRY_CONF_CHANGE);
  ASSERT_TRUE(app.Apply(e2).ok());
  EXPECT_EQ(app.conf().learners_size(), 1);
  EXPECT_FALSE(app.Apply(E(5, 1, "gap")).ok());

  pb::Snapshot snap;
  snap.set_data(app.EncodeImage());
  snap.mutable_metadata()->set_index(2);
  snap.mutable_metadata()->set_term(1);
  *snap.mutable_metadata()->mutable_conf_state() = app.conf();
  SimApp other(pb::ConfState{});
  ASSERT_TRUE(other.Restore(snap).ok());
  EXPECT_EQ(other.chain(), app.chain());
  EXPECT_EQ(other.applied(), 2u);

  pb::Snapshot damaged = snap;
  std::string data = damaged.data();
  data[data.size() / 2] ^= 1;
  damaged.set_data(data);
  EXPECT_FALSE(SimApp(pb::ConfState{}).Restore(damaged).ok());
  damaged = snap;
  damaged.mutable_metadata()->set_index(3);
  EXPECT_FALSE(SimApp(pb::ConfState{}).Restore(damaged).ok());
  damaged.set_data("junk");
  EXPECT_EQ(SimApp(pb::ConfState{}).Restore(damaged).code(), StatusCode::kCorruption);
}

TEST(SimNetworkTest, DelaysCutsAndDuplicates) {
  SimRng rng(42);
  SimNetwork net(&rng);
  NetworkFaults f;
  f.max_delay = 0;
  net.set_faults(f);
  pb::Message m;
  m.set_from(1);
  m.set_to(2);
  net.Send(m, 0);
  EXPECT_TRUE(net.HasDue(0));
  net.Cut(1, 2);
  EXPECT_FALSE(net.PopDue(0).has_value());  // in flight on a cut link: lost
  EXPECT_EQ(net.dropped(), 1u);
  net.Send(m, 0);
  m.set_from(2);
  m.set_to(1);
  net.Send(m, 0);  // the other direction still works
  auto got = net.PopDue(0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->from(), 2u);
  net.HealAll();
  f.duplicate = 1.0;
  f.max_delay = 5;
  net.set_faults(f);
  net.Send(m, 10);
  EXPECT_EQ(net.in_flight(), 2u);
  EXPECT_FALSE(net.HasDue(9));
  int delivered = 0;
  while (net.PopDue(15)) ++delivered;
  EXPECT_EQ(delivered, 2);
}

}  // namespace
}  // namespace coord::raft::sim
