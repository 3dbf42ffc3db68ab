#include "core/quorum.h"

#include <gtest/gtest.h>

namespace coord::raft {
namespace {

TEST(QuorumTest, MajorityOf) {
  EXPECT_EQ(MajorityOf(1), 1u);
  EXPECT_EQ(MajorityOf(2), 2u);
  EXPECT_EQ(MajorityOf(3), 2u);
  EXPECT_EQ(MajorityOf(4), 3u);
  EXPECT_EQ(MajorityOf(5), 3u);
}

TEST(QuorumTest, QuorumValueIsHeldByAMajority) {
  std::vector<uint64_t> none;
  EXPECT_EQ(QuorumValue(none), 0u);
  std::vector<uint64_t> one{7};
  EXPECT_EQ(QuorumValue(one), 7u);
  std::vector<uint64_t> three{5, 1, 7};
  EXPECT_EQ(QuorumValue(three), 5u);
  std::vector<uint64_t> four{4, 1, 3, 2};  // 3 of 4 must hold it
  EXPECT_EQ(QuorumValue(four), 2u);
  std::vector<uint64_t> five{9, 9, 1, 1, 5};
  EXPECT_EQ(QuorumValue(five), 5u);
  std::vector<uint64_t> two{10, 3};  // both must hold it
  EXPECT_EQ(QuorumValue(two), 3u);
}

TEST(QuorumTest, TallyVotes) {
  std::vector<NodeId> voters{1, 2, 3};
  EXPECT_EQ(TallyVotes(voters, {{1, true}}), VoteResult::kPending);
  EXPECT_EQ(TallyVotes(voters, {{1, true}, {2, true}}), VoteResult::kWon);
  EXPECT_EQ(TallyVotes(voters, {{1, true}, {2, false}}), VoteResult::kPending);
  EXPECT_EQ(TallyVotes(voters, {{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
  // Votes of non-voters do not count.
  EXPECT_EQ(TallyVotes(voters, {{1, true}, {4, true}, {5, true}}), VoteResult::kPending);
  EXPECT_EQ(TallyVotes({1}, {{1, true}}), VoteResult::kWon);
  EXPECT_EQ(TallyVotes({}, {{1, true}}), VoteResult::kLost);
  std::vector<NodeId> four{1, 2, 3, 4};
  EXPECT_EQ(TallyVotes(four, {{1, true}, {2, true}}), VoteResult::kPending);
  EXPECT_EQ(TallyVotes(four, {{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
}

}  // namespace
}  // namespace coord::raft
