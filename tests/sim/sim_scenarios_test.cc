// Targeted simulation scenarios: the classic failure shapes, scripted, with the
// same invariant checks as the randomized runs after every step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "sim_app.h"
#include "sim_cluster.h"
#include "sim_workload.h"

namespace coord::raft::sim {
namespace {

constexpr uint64_t kMaxSteps = 200000;

ClusterOptions Options(int members) {
  ClusterOptions o;
  o.members = members;
  o.election_tick = 10;
  o.heartbeat_tick = 2;
  o.snapshot_every = 0;
  return o;
}

// COORD_SIM_TRACE=1 prints every scenario's event trace to stderr.
std::unique_ptr<SimCluster> MakeCluster(uint64_t seed, const ClusterOptions& o) {
  std::ostream* trace = std::getenv("COORD_SIM_TRACE") != nullptr ? &std::cerr : nullptr;
  auto c = std::make_unique<SimCluster>(seed, o, trace);
  EXPECT_TRUE(c->Start().ok());
  return c;
}

std::string Dump(const SimCluster& c) {
  std::ostringstream os;
  os << "violation: " << c.violation() << "\n";
  c.Describe(os);
  return os.str();
}

NodeId WaitLeader(SimCluster& c) {
  EXPECT_TRUE(c.RunUntil([&] { return c.Leader().has_value(); }, kMaxSteps)) << Dump(c);
  return c.Leader().value_or(kNoNode);
}

// True when (index, term, data) is in the global applied sequence.
bool Applied(const SimCluster& c, Index index, Term term, const std::string& data) {
  pb::Entry e;
  e.set_term(term);
  e.set_data(data);
  const SimChecker& ck = c.checker();
  return ck.max_applied() >= index && ck.applied_term(index) == term &&
         ck.applied_hash(index) == EntryHash(e);
}

// Proposes `data` at the current leader (retrying across leader changes) until
// it is applied somewhere. Returns its index.
Index Commit(SimCluster& c, const std::string& data) {
  for (int attempt = 0; attempt < 20 && !c.failed(); ++attempt) {
    const NodeId leader = WaitLeader(c);
    if (leader == kNoNode) break;
    const Term term = c.member(leader)->core->term();
    Result<Index> r = c.Propose(leader, data);
    if (!r.ok()) {
      c.RunUntil([] { return false; }, 20);
      continue;
    }
    const Index index = *r;
    if (c.RunUntil([&] { return Applied(c, index, term, data); }, 20000)) return index;
  }
  ADD_FAILURE() << "could not commit " << data << "\n" << Dump(c);
  return 0;
}

// Calls fn until it succeeds, running the cluster between attempts.
bool Retry(SimCluster& c, const std::function<bool()>& fn) {
  for (int i = 0; i < 2000 && !c.failed(); ++i) {
    if (fn()) return true;
    c.RunUntil([] { return false; }, 20);
  }
  return false;
}

TEST(SimScenarioTest, SymmetricPartitionOfTheLeader) {
  auto c = MakeCluster(11, Options(5));
  const NodeId old_leader = WaitLeader(*c);
  ASSERT_NE(old_leader, kNoNode);
  Commit(*c, "before");
  const Term old_term = c->member(old_leader)->core->term();

  c->Partition({old_leader});
  Result<Index> lost = c->Propose(old_leader, "lost-write");
  ASSERT_TRUE(lost.ok()) << lost.status();  // it still believes it leads
  ASSERT_TRUE(c->RunUntil(
      [&] {
        auto l = c->Leader();
        return l && *l != old_leader && c->member(*l)->core->term() > old_term;
      },
      kMaxSteps))
      << Dump(*c);
  // CheckQuorum: the isolated leader steps down on its own.
  ASSERT_TRUE(
      c->RunUntil([&] { return c->member(old_leader)->core->role() != Role::kLeader; }, kMaxSteps))
      << Dump(*c);
  Commit(*c, "during");

  c->Heal();
  ASSERT_TRUE(HealAndCheckLiveness(*c, 10)) << Dump(*c);
  EXPECT_FALSE(Applied(*c, *lost, old_term, "lost-write"));
  // The old leader's uncommitted entry was replaced in its own log.
  EXPECT_EQ(c->member(old_leader)->app->applied(), c->checker().max_applied());
  EXPECT_FALSE(c->failed()) << Dump(*c);
}

TEST(SimScenarioTest, OneWayPartitionLeaderCannotSend) {
  auto c = MakeCluster(12, Options(3));
  const NodeId leader = WaitLeader(*c);
  ASSERT_NE(leader, kNoNode);
  Commit(*c, "one");
  for (const auto& [id, m] : c->members()) {
    if (id != leader) c->CutOneWay(leader, id);
  }
  // The followers hear nothing and elect someone else; the old leader still
  // receives everything but can answer nothing.
  ASSERT_TRUE(c->RunUntil(
      [&] {
        auto l = c->Leader();
        return l && *l != leader;
      },
      kMaxSteps))
      << Dump(*c);
  Commit(*c, "two");
  EXPECT_NE(c->member(leader)->core->role(), Role::kLeader);
  c->Heal();
  ASSERT_TRUE(HealAndCheckLiveness(*c, 10)) << Dump(*c);
}

TEST(SimScenarioTest, OneWayPartitionFollowerCannotSend) {
  auto c = MakeCluster(13, Options(3));
  const NodeId leader = WaitLeader(*c);
  ASSERT_NE(leader, kNoNode);
  NodeId follower = kNoNode;
  for (const auto& [id, m] : c->members()) {
    if (id != leader) follower = id;
  }
  for (const auto& [id, m] : c->members()) {
    if (id != follower) c->CutOneWay(follower, id);
  }
  // The muted follower still receives the leader's heartbeats, so it must not
  // disrupt anyone; the other two keep committing.
  for (int i = 0; i < 10; ++i) Commit(*c, "w" + std::to_string(i));
  EXPECT_EQ(c->Leader(), leader);
  c->Heal();
  ASSERT_TRUE(HealAndCheckLiveness(*c, 10)) << Dump(*c);
}

TEST(SimScenarioTest, CrashAfterPersistBeforeSend) {
  auto c = MakeCluster(14, Options(3));
  const NodeId leader = WaitLeader(*c);
  ASSERT_NE(leader, kNoNode);
  Commit(*c, "warmup");
  NodeId follower = kNoNode;
  for (const auto& [id, m] : c->members()) {
    if (id != leader) follower = id;
  }
  c->CrashAfterNextPersist(follower, c->member(leader)->core->last_index() + 1);
  const Term term = c->member(leader)->core->term();
  Result<Index> r = c->Propose(leader, "persisted-not-acked");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(
      c->RunUntil([&] { return c->member(follower)->state == MemberState::kDown; }, kMaxSteps))
      << Dump(*c);
  // What it persisted survived the crash.
  EXPECT_GE(c->member(follower)->storage->LastIndex(), *r);
  ASSERT_TRUE(c->RunUntil([&] { return Applied(*c, *r, term, "persisted-not-acked"); }, kMaxSteps))
      << Dump(*c);
  ASSERT_TRUE(c->Restart(follower).ok());

  // Now the leader: it persists its own proposal and dies before sending it.
  const NodeId l2 = WaitLeader(*c);
  c->CrashAfterNextPersist(l2, c->member(l2)->core->last_index() + 1);
  Result<Index> r2 = c->Propose(l2, "leader-local");
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(c->member(l2)->state, MemberState::kDown);
  EXPECT_GE(c->member(l2)->storage->LastIndex(), *r2);
  ASSERT_TRUE(HealAndCheckLiveness(*c, 10)) << Dump(*c);
  EXPECT_GE(c->stats().crashes, 2u);
}

TEST(SimScenarioTest, SnapshotCatchUpOfLongDownMember) {
  ClusterOptions o = Options(3);
  o.snapshot_every = 5;
  o.max_keep_entries = 1;
  o.snapshot_chunk_bytes = 32;  // images are hundreds of bytes: many chunks
  auto c = MakeCluster(15, o);
  const NodeId leader = WaitLeader(*c);
  ASSERT_NE(leader, kNoNode);
  NodeId down = kNoNode;
  for (const auto& [id, m] : c->members()) {
    if (id != leader) down = id;
  }
  Commit(*c, "first");
  c->Crash(down);
  const Index down_last = c->member(down)->storage->LastIndex();
  for (int i = 0; i < 60; ++i) Commit(*c, "entry-" + std::to_string(i));
  const NodeId now_leader = WaitLeader(*c);
  ASSERT_GT(c->member(now_leader)->storage->FirstIndex(), down_last + 1)
      << "the leader's log should have been compacted past the down member";
  ASSERT_TRUE(c->Restart(down).ok());
  ASSERT_TRUE(c->RunUntil(
      [&] {
        const SimMember* m = c->member(down);
        return m->app->applied() >= c->checker().max_applied();
      },
      kMaxSteps))
      << Dump(*c);
  EXPECT_GE(c->member(down)->restores, 1u) << "caught up without InstallSnapshot?";
  ASSERT_TRUE(HealAndCheckLiveness(*c, 10)) << Dump(*c);
}

TEST(SimScenarioTest, MembershipChangeDuringPartition) {
  ClusterOptions o = Options(3);
  o.snapshot_every = 8;
  auto c = MakeCluster(16, o);
  const NodeId leader = WaitLeader(*c);
  ASSERT_NE(leader, kNoNode);
  Commit(*c, "start");
  NodeId cut = kNoNode;
  for (const auto& [id, m] : c->members()) {
    if (id != leader) cut = id;
  }
  c->Partition({cut});
  const NodeId learner = c->next_id();
  auto change = [&](pb::ConfChangeType type, NodeId node) {
    return Retry(*c, [&] {
      auto l = c->Leader();
      return l && c->ChangeMembership(*l, type, node).ok();
    });
  };
  auto in = [](const google::protobuf::RepeatedField<uint64_t>& f, NodeId id) {
    return std::find(f.begin(), f.end(), id) != f.end();
  };
  ASSERT_TRUE(change(pb::CONF_ADD_LEARNER, learner)) << Dump(*c);
  ASSERT_TRUE(c->RunUntil([&] { return in(c->committed_conf().learners(), learner); }, kMaxSteps))
      << Dump(*c);
  for (int i = 0; i < 12; ++i) Commit(*c, "fill-" + std::to_string(i));
  ASSERT_TRUE(change(pb::CONF_ADD_VOTER, learner)) << Dump(*c);
  ASSERT_TRUE(c->RunUntil([&] { return in(c->committed_conf().voters(), learner); }, kMaxSteps))
      << Dump(*c);
  ASSERT_TRUE(change(pb::CONF_REMOVE_NODE, cut)) << Dump(*c);
  ASSERT_TRUE(c->RunUntil([&] { return !in(c->committed_conf().voters(), cut); }, kMaxSteps))
      << Dump(*c);
  EXPECT_EQ(c->member(cut)->state, MemberState::kRetired);
  c->Heal();
  Commit(*c, "after");
  ASSERT_TRUE(HealAndCheckLiveness(*c, 10)) << Dump(*c);
  EXPECT_EQ(c->committed_conf().voters_size(), 3);
  EXPECT_EQ(c->member(learner)->app->applied(), c->checker().max_applied());
}

// Regression for seed 48891 (build-sim/FAILING_SEEDS.md): a leader that has sent
// TIMEOUT_NOW must not answer reads from its lease, because the target's campaign
// bypasses the followers' leader stickiness the lease relies on.
TEST(SimScenarioTest, LeaseReadAfterLeadershipTransfer) {
  ClusterOptions o = Options(3);
  o.lease_reads = true;
  o.lockstep_ticks = true;  // no clock drift: the lease's own assumption holds
  auto c = MakeCluster(17, o);
  const NodeId old_leader = WaitLeader(*c);
  ASSERT_NE(old_leader, kNoNode);
  Commit(*c, "before");
  NodeId target = kNoNode;
  for (const auto& [id, m] : c->members()) {
    if (id != old_leader && target == kNoNode) target = id;
  }
  // Let the old leader hear a fresh quorum of heartbeat answers (a valid lease).
  const uint64_t t0 = c->now();
  ASSERT_TRUE(c->RunUntil([&] { return c->now() > t0 + 6; }, kMaxSteps));
  // From now on the old leader hears nothing, so it cannot learn of a new term.
  for (const auto& [id, m] : c->members()) {
    if (id != old_leader) c->CutOneWay(id, old_leader);
  }
  ASSERT_TRUE(c->TransferLeadership(old_leader, target).ok());
  const Index old_commit = c->member(old_leader)->core->commit();
  ASSERT_TRUE(c->RunUntil(
      [&] {
        return c->member(target)->core->role() == Role::kLeader &&
               c->checker().max_commit() > old_commit;
      },
      2000))
      << Dump(*c);
  ASSERT_EQ(c->member(old_leader)->core->role(), Role::kLeader) << "test premise: still leads";
  c->ReadIndex(old_leader).IgnoreError();
  c->RunUntil([] { return false; }, 50);
  EXPECT_FALSE(c->failed()) << Dump(*c);
}

}  // namespace
}  // namespace coord::raft::sim
