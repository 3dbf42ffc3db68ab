// Construction (bootstrap, joining, restart, config errors) and the Ready
// contract (what is reported when, GetReady twice, Advance).
#include <gtest/gtest.h>

#include "coord/consensus/memory_storage.h"
#include "coord/consensus/raft.h"
#include "test_network.h"

namespace coord::raft {
namespace {

Config Base(NodeId id, std::vector<NodeId> peers) {
  Config c;
  c.id = id;
  c.peers = std::move(peers);
  c.seed = id;
  return c;
}

void Persist(MemoryStorage& s, const Ready& rd) {
  PersistBatch b;
  if (rd.snapshot) b.snapshot = &*rd.snapshot;
  b.entries = &rd.entries;
  if (rd.hard_state) b.hard_state = &*rd.hard_state;
  ASSERT_TRUE(s.Save(b).ok());
}

TEST(ReadyTest, BootstrapProducesIdenticalConfEntriesOnEveryMember) {
  std::vector<std::string> logs;
  for (NodeId id : {3, 1, 2}) {
    MemoryStorage s;
    Config c = Base(id, {3, 1, 2});
    c.learners = {5};
    auto r = Raft::Create(c, &s);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*r)->HasReady());
    Ready rd = (*r)->GetReady();
    ASSERT_EQ(rd.entries.size(), 4u);
    ASSERT_TRUE(rd.hard_state);
    EXPECT_EQ(rd.hard_state->term(), 1u);
    EXPECT_EQ(rd.hard_state->commit(), 4u);
    EXPECT_EQ(rd.hard_state->vote(), 0u);
    EXPECT_EQ(rd.committed_entries.size(), 4u);
    EXPECT_TRUE(rd.messages.empty());
    std::string log;
    for (const auto& e : rd.entries) {
      EXPECT_EQ(e.type(), pb::ENTRY_CONF_CHANGE);
      EXPECT_EQ(e.term(), 1u);
      log += e.SerializeAsString();
    }
    pb::ConfChange first;
    ASSERT_TRUE(first.ParseFromString(rd.entries[0].data()));
    EXPECT_EQ(first.node_id(), 1u);  // ascending ids
    pb::ConfChange last;
    ASSERT_TRUE(last.ParseFromString(rd.entries[3].data()));
    EXPECT_EQ(last.type(), pb::CONF_ADD_LEARNER);
    EXPECT_EQ(last.node_id(), 5u);
    logs.push_back(log);
    auto cs = (*r)->conf_state();
    EXPECT_EQ(cs.voters_size(), 3);
    EXPECT_EQ(cs.learners_size(), 1);
  }
  EXPECT_EQ(logs[0], logs[1]);
  EXPECT_EQ(logs[1], logs[2]);
}

TEST(ReadyTest, JoiningMemberWaitsQuietly) {
  MemoryStorage s;
  auto r = Raft::Create(Base(4, {}), &s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE((*r)->HasReady());
  for (int i = 0; i < 100; ++i) (*r)->Tick();
  EXPECT_FALSE((*r)->HasReady());
  EXPECT_EQ((*r)->role(), Role::kFollower);
  EXPECT_EQ((*r)->term(), 0u);
  EXPECT_EQ((*r)->conf_state().voters_size(), 0);
}

TEST(ReadyTest, ConfigErrors) {
  MemoryStorage s;
  auto code = [&](Config c) { return Raft::Create(c, &s).status().code(); };
  EXPECT_EQ(code(Base(0, {1})), StatusCode::kInvalidArgument);
  Config hb = Base(1, {1});
  hb.heartbeat_tick = 10;
  EXPECT_EQ(code(hb), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Base(1, {1, 1})), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Base(1, {0, 1})), StatusCode::kInvalidArgument);
  Config both = Base(1, {1, 2});
  both.learners = {2};
  EXPECT_EQ(code(both), StatusCode::kInvalidArgument);
  Config applied = Base(1, {1});
  applied.applied = 5;
  EXPECT_EQ(code(applied), StatusCode::kInvalidArgument);
  Config inflight = Base(1, {1});
  inflight.max_inflight_msgs = 0;
  EXPECT_EQ(code(inflight), StatusCode::kInvalidArgument);
  EXPECT_EQ(Raft::Create(Base(1, {1}), nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReadyTest, GetReadyTwiceBeforeAdvanceNeitherLosesNorDuplicates) {
  MemoryStorage s;
  auto created = Raft::Create(Base(1, {1}), &s);
  ASSERT_TRUE(created.ok());
  Raft& r = **created;
  Ready boot = r.GetReady();
  Persist(s, boot);
  r.Advance(boot);
  r.Campaign();
  ASSERT_EQ(r.role(), Role::kLeader);
  Ready rd1 = r.GetReady();
  ASSERT_TRUE(r.Propose("a").ok());
  Ready rd2 = r.GetReady();           // before Advance(rd1)
  ASSERT_EQ(rd1.entries.size(), 1u);  // the no-op
  ASSERT_EQ(rd2.entries.size(), 1u);  // only "a"
  EXPECT_EQ(rd2.entries[0].data(), "a");
  EXPECT_EQ(rd1.entries[0].index() + 1, rd2.entries[0].index());
  // The leader counts only what it persisted: nothing is committed yet.
  EXPECT_TRUE(rd1.committed_entries.empty());
  EXPECT_TRUE(rd2.committed_entries.empty());
  Persist(s, rd1);
  Persist(s, rd2);
  r.Advance(rd1);
  r.Advance(rd2);
  ASSERT_TRUE(r.HasReady());
  Ready rd3 = r.GetReady();
  ASSERT_EQ(rd3.committed_entries.size(), 2u);  // the no-op and "a", once each
  EXPECT_EQ(rd3.committed_entries[1].data(), "a");
  Persist(s, rd3);
  r.Advance(rd3);
  EXPECT_FALSE(r.HasReady());
  EXPECT_EQ(r.GetStatus().applied, rd2.entries[0].index());
}

TEST(ReadyTest, SoftAndHardStateOnlyWhenChanged) {
  MemoryStorage s;
  auto created = Raft::Create(Base(1, {1}), &s);
  ASSERT_TRUE(created.ok());
  Raft& r = **created;
  Ready boot = r.GetReady();
  EXPECT_FALSE(boot.soft_state);
  Persist(s, boot);
  r.Advance(boot);
  r.Campaign();
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.soft_state);
  EXPECT_EQ(rd.soft_state->role, Role::kLeader);
  EXPECT_EQ(rd.soft_state->leader, 1u);
  ASSERT_TRUE(rd.hard_state);
  EXPECT_EQ(rd.hard_state->term(), 2u);
  EXPECT_EQ(rd.hard_state->vote(), 1u);
  Persist(s, rd);
  r.Advance(rd);
  Ready committed = r.GetReady();  // the no-op, once it was persisted
  ASSERT_TRUE(committed.hard_state);
  Persist(s, committed);
  r.Advance(committed);
  r.Tick();
  EXPECT_FALSE(r.HasReady());  // a heartbeat tick with no peers changes nothing
  ASSERT_TRUE(r.Propose("x").ok());
  Ready rd2 = r.GetReady();
  EXPECT_FALSE(rd2.soft_state);
  EXPECT_FALSE(rd2.hard_state);  // commit waits for "x" to be persisted
  Persist(s, rd2);
  r.Advance(rd2);
  Ready rd3 = r.GetReady();
  ASSERT_TRUE(rd3.hard_state);  // commit moved
  EXPECT_EQ(rd3.hard_state->term(), 2u);
  EXPECT_EQ(rd3.hard_state->commit(), rd2.entries.back().index());
}

TEST(ReadyTest, RestartKeepsTermVoteAndDoesNotReapply) {
  MemoryStorage s;
  Index last = 0;
  {
    auto created = Raft::Create(Base(1, {1}), &s);
    ASSERT_TRUE(created.ok());
    Raft& r = **created;
    r.Campaign();
    ASSERT_TRUE(r.Propose("x").ok());
    while (r.HasReady()) {  // entries, then their commit once persisted
      Ready rd = r.GetReady();
      Persist(s, rd);
      r.Advance(rd);
    }
    last = r.last_index();
  }
  Config c = Base(1, {1});
  c.applied = last;  // the application persisted its state
  auto again = Raft::Create(c, &s);
  ASSERT_TRUE(again.ok()) << again.status();
  Raft& r = **again;
  EXPECT_EQ(r.term(), 2u);
  EXPECT_EQ(r.GetStatus().vote, 1u);
  EXPECT_EQ(r.commit(), last);
  EXPECT_EQ(r.role(), Role::kFollower);
  EXPECT_FALSE(r.HasReady());  // nothing changed, nothing to re-apply
  // Without Config::applied everything after the snapshot is applied again.
  auto from_zero = Raft::Create(Base(1, {1}), &s);
  ASSERT_TRUE(from_zero.ok());
  Ready rd = (*from_zero)->GetReady();
  EXPECT_EQ(rd.committed_entries.size(), last);
  EXPECT_FALSE(rd.hard_state);
}

TEST(ReadyTest, CorruptStorageIsReportedNotFatal) {
  MemoryStorage s;
  std::vector<pb::Entry> es(1);
  es[0].set_index(1);
  es[0].set_term(1);
  pb::HardState hs;
  hs.set_term(1);
  hs.set_commit(5);  // beyond the last index
  PersistBatch b;
  b.entries = &es;
  b.hard_state = &hs;
  ASSERT_TRUE(s.Save(b).ok());
  EXPECT_EQ(Raft::Create(Base(1, {1}), &s).status().code(), StatusCode::kCorruption);
}

TEST(ReadyTest, HardStateTermBelowLogTermIsCorruption) {
  MemoryStorage s;
  std::vector<pb::Entry> es(1);
  es[0].set_index(1);
  es[0].set_term(3);
  pb::HardState hs;
  hs.set_term(2);
  PersistBatch b;
  b.entries = &es;
  b.hard_state = &hs;
  ASSERT_TRUE(s.Save(b).ok());
  EXPECT_EQ(Raft::Create(Base(1, {1}), &s).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace coord::raft
