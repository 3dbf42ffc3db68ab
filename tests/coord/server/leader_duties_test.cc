// The leader's duties against a fake host: trackers active exactly while leading,
// loaded from the applied state; expiries and checkpoints proposed on time.
#include "server/leader_duties.h"

#include <gtest/gtest.h>

#include "fake_raft_host.h"

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class LeaderDutiesTest : public ::testing::Test {
 protected:
  LeaderDutiesTest()
      : state_(StateMachineOptions{}, nullptr, &sessions_),
        host_(1),
        duties_(LeaderDuties::Parts{&state_, &host_, &sessions_, nullptr, nullptr},
                /*checkpoint_interval=*/100ms, /*proposal_timeout=*/1s) {
    host_.SetLeader(1);
    host_.HoldProposals(true);
  }

  // A session of `ttl` created in the applied state (as any member applies it).
  void CreateSession(std::chrono::milliseconds ttl) {
    coord::state::Command c;
    c.mutable_session_create()->set_ttl_ms(ttl.count());
    ASSERT_TRUE(state_.Apply(++index_, EncodeCommand(c)).ok());
  }
  std::vector<coord::state::Command> Proposed() {
    std::vector<coord::state::Command> out;
    for (FakeRaftHost::Proposal& p : host_.TakeProposals()) {
      coord::state::Command c;
      EXPECT_TRUE(c.ParseFromString(p.data));
      out.push_back(c);
    }
    return out;
  }

  SessionTracker sessions_{10ms};
  StateAdapter state_;
  FakeRaftHost host_;
  LeaderDuties duties_;
  raft::Index index_ = 0;
};

TEST_F(LeaderDutiesTest, AFollowerProposesNothingAndANewLeaderExpiresFromTheState) {
  CreateSession(1000ms);  // applied while this member followed
  const auto t0 = Clock::now();
  duties_.Tick(false, t0);
  duties_.Tick(false, t0 + 5s);
  EXPECT_TRUE(Proposed().empty()) << "only the leader proposes expiries";

  duties_.Tick(true, t0 + 5s);  // becomes leader: the deadline is counted from now
  EXPECT_TRUE(Proposed().empty()) << "the new leader gives the session its full remaining TTL";
  duties_.Tick(true, t0 + 5s + 1100ms);
  bool expired = false;
  for (const auto& c : Proposed()) expired |= c.has_session_expire();
  EXPECT_TRUE(expired);
}

TEST_F(LeaderDutiesTest, LosingLeadershipDropsTheDeadlines) {
  CreateSession(1000ms);
  const auto t0 = Clock::now();
  duties_.Tick(true, t0);
  duties_.Tick(false, t0 + 100ms);
  EXPECT_FALSE(sessions_.active());
  duties_.Tick(false, t0 + 5s);
  EXPECT_TRUE(Proposed().empty());
}

TEST_F(LeaderDutiesTest, AStaleSessionIsCheckpointedOncePerInterval) {
  CreateSession(1000ms);
  const auto t0 = Clock::now();
  duties_.Tick(true, t0);
  duties_.Tick(true, t0 + 50ms);
  EXPECT_TRUE(Proposed().empty()) << "no checkpoint before the interval, nothing stale";
  duties_.Tick(true, t0 + 600ms);  // stale for more than ttl/2
  std::vector<coord::state::Command> proposed = Proposed();
  ASSERT_EQ(proposed.size(), 1u);
  ASSERT_TRUE(proposed[0].has_session_checkpoint());
  duties_.Tick(true, t0 + 650ms);
  EXPECT_TRUE(Proposed().empty()) << "the next checkpoint waits for the interval";
}

}  // namespace
}  // namespace coord::server
