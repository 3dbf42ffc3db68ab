// Elections: the candidate queue, leader changes with term increments on resign
// and session end, proclaim rules, leader lookup, errors and snapshots.
#include <gtest/gtest.h>

#include "coord/state/lock_test_util.h"

namespace coord::server::testing {
namespace {

TEST(ElectionTest, CampaignQueuesAndHeadLeads) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  EXPECT_EQ(LeaderOf(d, "/e").error().code(), pb::NOT_FOUND);

  ApplyResult c1 = d.Apply(CampaignCmd("/e", s1, "one"));
  ASSERT_EQ(c1.response.error().code(), pb::OK);
  EXPECT_TRUE(c1.response.election_campaign().leader());
  EXPECT_EQ(c1.response.election_campaign().term(), 1);
  ASSERT_EQ(c1.election_changes.size(), 1u);
  EXPECT_EQ(c1.election_changes[0].name, "/e");
  EXPECT_EQ(c1.election_changes[0].session, s1);
  EXPECT_EQ(c1.election_changes[0].value, "one");
  EXPECT_EQ(c1.election_changes[0].term, 1);

  ApplyResult c2 = d.Apply(CampaignCmd("/e", s2, "two"));
  EXPECT_FALSE(c2.response.election_campaign().leader());
  EXPECT_EQ(c2.response.election_campaign().position(), 1);
  EXPECT_TRUE(c2.election_changes.empty());
  EXPECT_EQ(d.Apply(CampaignCmd("/e", s3, "three")).response.election_campaign().position(), 2);
  // Campaigning again keeps one's place and value.
  ApplyResult again = d.Apply(CampaignCmd("/e", s1, "changed?"));
  EXPECT_TRUE(again.response.election_campaign().leader());
  EXPECT_EQ(again.response.election_campaign().term(), 1);
  EXPECT_TRUE(again.election_changes.empty());

  pb::Response leader = LeaderOf(d, "/e");
  ASSERT_EQ(leader.error().code(), pb::OK);
  EXPECT_EQ(leader.election_leader().leader().session(), s1);
  EXPECT_EQ(leader.election_leader().leader().value(), "one");
  EXPECT_EQ(leader.election_leader().leader().term(), 1);
  EXPECT_EQ(d.sm.revision(), 0) << "elections do not touch the key space";
}

TEST(ElectionTest, ResignHandsOverWithANewTerm) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  d.Apply(CampaignCmd("/e", s1, "one"));
  d.Apply(CampaignCmd("/e", s2, "two"));
  d.Apply(CampaignCmd("/e", s3, "three"));

  // A queued candidate withdrawing changes no leader.
  ApplyResult q = d.Apply(ResignCmd("/e", s2));
  ASSERT_EQ(q.response.error().code(), pb::OK);
  EXPECT_TRUE(q.response.has_election_resign());
  EXPECT_TRUE(q.election_changes.empty());

  ApplyResult r = d.Apply(ResignCmd("/e", s1));
  ASSERT_EQ(r.election_changes.size(), 1u);
  EXPECT_EQ(r.election_changes[0].session, s3);
  EXPECT_EQ(r.election_changes[0].value, "three");
  EXPECT_EQ(r.election_changes[0].term, 2);
  EXPECT_EQ(LeaderOf(d, "/e").election_leader().leader().term(), 2);

  EXPECT_EQ(d.Apply(ResignCmd("/e", s1)).response.error().code(), pb::NOT_FOUND);
  // The last leader leaves: "no leader", term kept; the next leader gets a new one.
  ApplyResult none = d.Apply(ResignCmd("/e", s3));
  ASSERT_EQ(none.election_changes.size(), 1u);
  EXPECT_EQ(none.election_changes[0].session, 0);
  EXPECT_EQ(none.election_changes[0].term, 2);
  pb::Response no_leader = LeaderOf(d, "/e");
  EXPECT_EQ(no_leader.error().code(), pb::NOT_FOUND);
  EXPECT_NE(no_leader.error().message().find("last term 2"), std::string::npos);
  ApplyResult back = d.Apply(CampaignCmd("/e", s1, "again"));
  EXPECT_EQ(back.response.election_campaign().term(), 3);
}

TEST(ElectionTest, SessionEndReplacesTheLeader) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  d.Apply(CampaignCmd("/e", s1, "one"));
  d.Apply(CampaignCmd("/e", s2, "two"));
  d.Apply(CampaignCmd("/e", s3, "three"));
  d.Apply(CampaignCmd("/f", s2, "f-two"));

  ApplyResult expired = d.Apply(ExpireCmd(s1));
  ASSERT_EQ(expired.election_changes.size(), 1u);
  EXPECT_EQ(expired.election_changes[0].session, s2);
  EXPECT_EQ(expired.election_changes[0].term, 2);

  // s2 leads /e and /f; closing it changes both, in name order.
  ApplyResult closed = d.Apply(CloseCmd(s2));
  ASSERT_EQ(closed.election_changes.size(), 2u);
  EXPECT_EQ(closed.election_changes[0].name, "/e");
  EXPECT_EQ(closed.election_changes[0].session, s3);
  EXPECT_EQ(closed.election_changes[0].term, 3);
  EXPECT_EQ(closed.election_changes[1].name, "/f");
  EXPECT_EQ(closed.election_changes[1].session, 0);
  EXPECT_EQ(closed.election_changes[1].term, 1);
  EXPECT_EQ(d.Apply(CampaignCmd("/e", s2, "x")).response.error().code(), pb::SESSION_EXPIRED);
}

TEST(ElectionTest, OnlyTheLeaderProclaims) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  EXPECT_EQ(d.Apply(ProclaimCmd("/e", s1, "v")).response.error().code(), pb::NOT_FOUND);
  d.Apply(CampaignCmd("/e", s1, "one"));
  d.Apply(CampaignCmd("/e", s2, "two"));
  ApplyResult p = d.Apply(ProclaimCmd("/e", s1, "uno"));
  ASSERT_EQ(p.response.error().code(), pb::OK);
  EXPECT_EQ(p.response.election_proclaim().term(), 1);
  ASSERT_EQ(p.election_changes.size(), 1u);
  EXPECT_EQ(p.election_changes[0].value, "uno");
  EXPECT_EQ(p.election_changes[0].term, 1) << "a proclaim is no new term";
  EXPECT_EQ(LeaderOf(d, "/e").election_leader().leader().value(), "uno");

  ApplyResult follower = d.Apply(ProclaimCmd("/e", s2, "mine"));
  EXPECT_EQ(follower.response.error().code(), pb::CONFLICT);
  EXPECT_TRUE(follower.election_changes.empty());
  EXPECT_EQ(d.Apply(ProclaimCmd("/e", s3, "v")).response.error().code(), pb::NOT_FOUND);
  EXPECT_EQ(d.Apply(ProclaimCmd("/e", 77, "v")).response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(LeaderOf(d, "/e").election_leader().leader().value(), "uno");
}

TEST(ElectionTest, BadRequests) {
  StateMachineOptions o;
  o.max_value_bytes = 4;
  Driver d(o);
  int64_t s = d.CreateSession();
  EXPECT_EQ(d.Apply(CampaignCmd("", s, "v")).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(CampaignCmd("/e", s, "12345")).response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.Apply(CampaignCmd("/e", 0, "v")).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(CampaignCmd("/e", 5, "v")).response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.Apply(ResignCmd("", s)).response.error().code(), pb::INVALID_ARGUMENT);
  d.Apply(CampaignCmd("/e", s, "v"));
  EXPECT_EQ(d.Apply(ProclaimCmd("/e", s, "12345")).response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(LeaderOf(d, "").error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(LeaderOf(d, "/e").election_leader().leader().value(), "v");
}

TEST(ElectionTest, SnapshotKeepsQueueAndTerm) {
  Driver a;
  int64_t s1 = a.CreateSession(), s2 = a.CreateSession();
  a.Apply(CampaignCmd("/e", s1, "one"));
  a.Apply(CampaignCmd("/e", s2, "two"));
  a.Apply(ResignCmd("/e", s1));
  a.Apply(CampaignCmd("/e", s1, "one again"));
  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  b.index = a.index;
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
  EXPECT_EQ(LeaderOf(b, "/e").SerializeAsString(), LeaderOf(a, "/e").SerializeAsString());
  ApplyResult r = b.Apply(ExpireCmd(s2));
  ASSERT_EQ(r.election_changes.size(), 1u);
  EXPECT_EQ(r.election_changes[0].session, s1);
  EXPECT_EQ(r.election_changes[0].term, 3);

  coord::state::StateSnapshot broken;
  ASSERT_TRUE(broken.ParseFromString(a.sm.Snapshot()));
  broken.mutable_elections(0)->mutable_candidates(0)->set_session(99);
  EXPECT_EQ(b.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace coord::server::testing
