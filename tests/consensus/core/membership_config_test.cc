// The Membership class alone: changes applied on append, rollback on
// truncation, validation, configuration at an index.
#include <gtest/gtest.h>

#include "core/membership.h"

namespace coord::raft {
namespace {

std::string Cc(pb::ConfChangeType type, NodeId id) {
  pb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  return cc.SerializeAsString();
}

std::vector<NodeId> V(const pb::ConfState& cs) { return {cs.voters().begin(), cs.voters().end()}; }
std::vector<NodeId> L(const pb::ConfState& cs) {
  return {cs.learners().begin(), cs.learners().end()};
}

TEST(MembershipConfigTest, AppliesInOrderAndRollsBack) {
  Membership m;
  pb::ConfState base;
  base.add_voters(2);
  base.add_voters(1);
  m.Reset(base, 10);
  EXPECT_EQ(m.voters(), (std::vector<NodeId>{1, 2}));  // sorted
  ASSERT_TRUE(m.AppendEntry(11, Cc(pb::CONF_ADD_LEARNER, 3)).ok());
  ASSERT_TRUE(m.AppendEntry(14, Cc(pb::CONF_ADD_VOTER, 3)).ok());  // promotion
  EXPECT_TRUE(m.IsVoter(3));
  EXPECT_FALSE(m.IsLearner(3));
  ASSERT_TRUE(m.AppendEntry(20, Cc(pb::CONF_REMOVE_NODE, 1)).ok());
  EXPECT_EQ(m.voters(), (std::vector<NodeId>{2, 3}));
  EXPECT_EQ(m.LastChangeIndex(), 20u);
  // Truncating at 14 rolls back the promotion and the removal.
  EXPECT_TRUE(m.TruncateFrom(14));
  EXPECT_EQ(m.voters(), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(m.learners(), (std::vector<NodeId>{3}));
  EXPECT_EQ(m.LastChangeIndex(), 11u);
  EXPECT_FALSE(m.TruncateFrom(12));  // nothing above 11
  // Garbage data is refused and changes nothing.
  EXPECT_EQ(m.AppendEntry(15, "\xff\xff\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.LastChangeIndex(), 11u);
}

TEST(MembershipConfigTest, ConfStateAtAnIndex) {
  Membership m;
  pb::ConfState base;
  base.add_voters(1);
  m.Reset(base, 5);
  ASSERT_TRUE(m.AppendEntry(7, Cc(pb::CONF_ADD_VOTER, 2)).ok());
  ASSERT_TRUE(m.AppendEntry(9, Cc(pb::CONF_ADD_LEARNER, 3)).ok());
  EXPECT_EQ(V(*m.ConfStateAt(5)), (std::vector<NodeId>{1}));
  EXPECT_EQ(V(*m.ConfStateAt(8)), (std::vector<NodeId>{1, 2}));
  EXPECT_TRUE(L(*m.ConfStateAt(8)).empty());
  EXPECT_EQ(L(*m.ConfStateAt(9)), (std::vector<NodeId>{3}));
  EXPECT_EQ(m.ConfStateAt(4).status().code(), StatusCode::kCompacted);
}

TEST(MembershipConfigTest, IsVoterSince) {
  Membership m;
  pb::ConfState base;
  base.add_voters(1);
  base.add_voters(2);
  base.add_voters(3);
  m.Reset(base, 0);
  ASSERT_TRUE(m.AppendEntry(4, Cc(pb::CONF_REMOVE_NODE, 3)).ok());
  // Removed at 4: a voter "since 3" (the removal may be rolled back), not since 4.
  EXPECT_TRUE(m.IsVoterSince(3, 3));
  EXPECT_FALSE(m.IsVoterSince(3, 4));
  // Re-added later: a voter again in a later configuration.
  ASSERT_TRUE(m.AppendEntry(6, Cc(pb::CONF_ADD_VOTER, 3)).ok());
  EXPECT_TRUE(m.IsVoterSince(3, 4));
  EXPECT_FALSE(m.IsVoterSince(9, 0));
}

TEST(MembershipConfigTest, Validate) {
  Membership m;
  pb::ConfState base;
  base.add_voters(1);
  base.add_learners(2);
  m.Reset(base, 0);
  auto check = [&](pb::ConfChangeType t, NodeId id) {
    pb::ConfChange cc;
    cc.set_type(t);
    cc.set_node_id(id);
    return m.Validate(cc).code();
  };
  EXPECT_EQ(check(pb::CONF_ADD_VOTER, 2), StatusCode::kOk);  // promotion
  EXPECT_EQ(check(pb::CONF_ADD_VOTER, 3), StatusCode::kOk);
  EXPECT_EQ(check(pb::CONF_ADD_VOTER, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(check(pb::CONF_ADD_LEARNER, 2), StatusCode::kInvalidArgument);
  EXPECT_EQ(check(pb::CONF_ADD_LEARNER, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(check(pb::CONF_REMOVE_NODE, 1), StatusCode::kInvalidArgument);  // last voter
  EXPECT_EQ(check(pb::CONF_REMOVE_NODE, 2), StatusCode::kOk);
  EXPECT_EQ(check(pb::CONF_REMOVE_NODE, 7), StatusCode::kInvalidArgument);
  EXPECT_EQ(check(pb::CONF_ADD_VOTER, 0), StatusCode::kInvalidArgument);
  EXPECT_EQ(check(static_cast<pb::ConfChangeType>(42), 5), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coord::raft
