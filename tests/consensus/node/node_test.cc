// Node driver tests with MemoryStorage and the in-process fake transport.
#include "coord/consensus/node.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <any>
#include <atomic>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>

#include "consensus/node/node_test_util.h"
#include "coord/consensus/memory_storage.h"

namespace coord::raft::testing {
namespace {

class QuietLogs : public ::testing::Environment {
 public:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
};
[[maybe_unused]] auto* const kQuiet = ::testing::AddGlobalTestEnvironment(new QuietLogs);

// A MemoryStorage whose Save can be held at a gate (to pile up proposals) or made
// to fail (to test the loud-failure path). Counts saves.
class ControlledStorage : public MemoryStorage {
 public:
  struct Control {
    std::mutex mu;
    std::condition_variable cv;
    bool hold = false;
    bool holding = false;  // a Save is waiting at the gate
    bool fail = false;
    uint64_t saves = 0;
    uint64_t unsynced = 0;               // saves with sync = false
    uint64_t unsynced_must_sync = 0;     // ... that carried entries, a snapshot or a vote
  };
  explicit ControlledStorage(std::shared_ptr<Control> control) : control_(std::move(control)) {}

  Status Save(const PersistBatch& batch) override {
    {
      std::unique_lock lock(control_->mu);
      control_->holding = true;
      control_->cv.notify_all();
      control_->cv.wait(lock, [&] { return !control_->hold; });
      control_->holding = false;
      ++control_->saves;
      if (!batch.sync) {
        ++control_->unsynced;
        const bool vote_changed = batch.hard_state &&
                                  (batch.hard_state->term() != HardState().term() ||
                                   batch.hard_state->vote() != HardState().vote());
        if ((batch.entries && !batch.entries->empty()) || batch.snapshot || vote_changed) {
          ++control_->unsynced_must_sync;
        }
      }
      if (control_->fail) return Status::IOError("injected disk failure");
    }
    return MemoryStorage::Save(batch);
  }

 private:
  std::shared_ptr<Control> control_;
};

// Forwards to a shared MemoryStorage, so a "restarted" node can reopen the same
// state after the previous node (which owns its LogStorage) is gone.
class SharedStorage : public LogStorage {
 public:
  explicit SharedStorage(std::shared_ptr<MemoryStorage> s) : s_(std::move(s)) {}
  pb::HardState HardState() const override { return s_->HardState(); }
  pb::SnapshotMetadata SnapshotMetadata() const override { return s_->SnapshotMetadata(); }
  Result<std::vector<pb::Entry>> Entries(Index lo, Index hi, uint64_t max) const override {
    return s_->Entries(lo, hi, max);
  }
  Result<Term> TermAt(Index i) const override { return s_->TermAt(i); }
  Index FirstIndex() const override { return s_->FirstIndex(); }
  Index LastIndex() const override { return s_->LastIndex(); }
  Result<pb::Snapshot> GetSnapshot() const override { return s_->GetSnapshot(); }
  Status Save(const PersistBatch& batch) override { return s_->Save(batch); }
  Status CreateSnapshot(const pb::SnapshotMetadata& m, std::string data,
                        uint64_t keep) override {
    return s_->CreateSnapshot(m, std::move(data), keep);
  }

 private:
  std::shared_ptr<MemoryStorage> s_;
};

class NodeTest : public ::testing::Test {
 protected:
  std::unique_ptr<TestCluster> MakeCluster(std::vector<NodeId> ids,
                                           NodeOptions options = FastOptions()) {
    return std::make_unique<TestCluster>(
        std::move(ids), options, [](NodeId) { return std::make_unique<MemoryStorage>(); },
        [this](NodeId id) { return network_.NewTransport(id); });
  }

  FakeNetwork network_;
};

TEST_F(NodeTest, SingleMemberElectsItselfAndCommits) {
  auto cluster = MakeCluster({1});
  ASSERT_TRUE(cluster->StartAll().ok());
  ASSERT_EQ(cluster->WaitForLeader(3000ms), 1u);
  ProposeResult r = cluster->ProposeAndWait(1, "hello");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_GT(r.index, 0u);
  EXPECT_EQ(std::any_cast<std::string>(r.result), "ok:hello");
  EXPECT_EQ(cluster->sm(1)->Values(), std::vector<std::string>{"hello"});
  EXPECT_EQ(cluster->sm(1)->last_index(), r.index);
  EXPECT_GE(cluster->node(1)->GetStatus().applied, r.index);
}

TEST_F(NodeTest, ThreeMembersReplicateAndApplyInTheSameOrder) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  Index last = 0;
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    expected.push_back("v" + std::to_string(i));
    ProposeResult r = cluster->ProposeAndWait(leader, expected.back());
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_GT(r.index, last);
    last = r.index;
  }
  ASSERT_TRUE(cluster->WaitApplied(last, 3000ms));
  for (NodeId id : cluster->ids()) EXPECT_EQ(cluster->sm(id)->Values(), expected) << id;
}

TEST_F(NodeTest, ConcurrentProposersAllCompleteWithDistinctIndexes) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::mutex mu;
  std::map<Index, std::string> by_index;  // index -> value
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string value = "t" + std::to_string(t) + "-" + std::to_string(i);
        ProposeResult r = cluster->ProposeAndWait(leader, value);
        if (!r.status.ok() || std::any_cast<std::string>(r.result) != "ok:" + value) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        if (!by_index.emplace(r.index, value).second) ++failures;  // duplicate index
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(by_index.size(), static_cast<size_t>(kThreads * kPerThread));
  ASSERT_TRUE(cluster->WaitApplied(by_index.rbegin()->first, 3000ms));
  // Every member applied every value, in index order.
  std::vector<std::string> in_order;
  for (const auto& [index, value] : by_index) in_order.push_back(value);
  for (NodeId id : cluster->ids()) EXPECT_EQ(cluster->sm(id)->Values(), in_order) << id;
}

TEST_F(NodeTest, QueuedProposalsShareOneBatchAndFewSaves) {
  constexpr int kConcurrent = 64;
  // Declared before the cluster, so they outlive callbacks run while it stops.
  std::promise<ProposeResult> first;
  std::vector<std::promise<ProposeResult>> done(kConcurrent);
  auto control = std::make_shared<ControlledStorage::Control>();
  TestCluster cluster(
      {1}, FastOptions(),
      [control](NodeId) { return std::make_unique<ControlledStorage>(control); },
      [this](NodeId id) { return network_.NewTransport(id); });
  // Opens the gate on every exit path (before the cluster stops and joins).
  struct OpenGate {
    std::shared_ptr<ControlledStorage::Control> control;
    ~OpenGate() {
      std::lock_guard lock(control->mu);
      control->hold = false;
      control->cv.notify_all();
    }
  } open_gate{control};
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_EQ(cluster.WaitForLeader(3000ms), 1u);
  ASSERT_TRUE(cluster.ProposeAndWait(1, "warm-up").status.ok());

  // Hold the disk: the first proposal's Save blocks, the rest pile up in the queue.
  {
    std::lock_guard lock(control->mu);
    control->hold = true;
  }
  const auto deadline = Node::Clock::now() + 60s;  // slow sanitizer builds included
  const uint64_t batched_before = cluster.node(1)->GetStatus().proposals_batched;
  cluster.node(1)->Propose("first", deadline,
                           [&](ProposeResult r) { first.set_value(std::move(r)); });
  {
    std::unique_lock lock(control->mu);
    ASSERT_TRUE(control->cv.wait_for(lock, 3s, [&] { return control->holding; }));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kConcurrent; ++i) {
    threads.emplace_back([&, i] {
      cluster.node(1)->Propose("p" + std::to_string(i), deadline,
                               [&, i](ProposeResult r) { done[i].set_value(std::move(r)); });
    });
  }
  for (auto& t : threads) t.join();  // all 64 are queued now
  uint64_t saves_before = 0;
  {
    std::lock_guard lock(control->mu);
    saves_before = control->saves;
    control->hold = false;
  }
  control->cv.notify_all();

  ASSERT_TRUE(first.get_future().get().status.ok());
  std::set<Index> indexes;
  for (int i = 0; i < kConcurrent; ++i) {
    auto f = done[i].get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    ProposeResult r = f.get();
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(std::any_cast<std::string>(r.result), "ok:p" + std::to_string(i));
    indexes.insert(r.index);
  }
  EXPECT_EQ(indexes.size(), static_cast<size_t>(kConcurrent));
  // Group commit: 64 proposals became one batch (consecutive indexes) and cost a
  // handful of saves (the held one, the batch, the commit), not 64.
  EXPECT_EQ(*indexes.rbegin() - *indexes.begin() + 1, static_cast<Index>(kConcurrent));
  EXPECT_EQ(cluster.node(1)->GetStatus().proposals_batched - batched_before,
            static_cast<uint64_t>(kConcurrent) + 1);
  std::lock_guard lock(control->mu);
  EXPECT_LE(control->saves - saves_before, 4u);
}

TEST_F(NodeTest, EverySaveIsSyncedByDefault) {
  auto control = std::make_shared<ControlledStorage::Control>();
  TestCluster cluster(
      {1}, FastOptions(),
      [control](NodeId) { return std::make_unique<ControlledStorage>(control); },
      [this](NodeId id) { return network_.NewTransport(id); });
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_EQ(cluster.WaitForLeader(3000ms), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.ProposeAndWait(1, "s").status.ok());
  std::lock_guard lock(control->mu);
  EXPECT_GT(control->saves, 5u);
  EXPECT_EQ(control->unsynced, 0u);
}

TEST_F(NodeTest, UnsyncedCommitUpdatesNeverSkipTheSyncOfEntriesOrVotes) {
  auto control = std::make_shared<ControlledStorage::Control>();
  NodeOptions options = FastOptions();
  options.sync_commit_updates = false;
  // Three members (sharing one Control): commits follow acknowledgements, so
  // commit-only Readies occur on the leader and on the followers.
  TestCluster cluster(
      {1, 2, 3}, options,
      [control](NodeId) { return std::make_unique<ControlledStorage>(control); },
      [this](NodeId id) { return network_.NewTransport(id); });
  ASSERT_TRUE(cluster.StartAll().ok());
  const NodeId leader = cluster.WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.ProposeAndWait(leader, "s").status.ok());
  cluster.StopAll();  // freeze the counters
  std::lock_guard lock(control->mu);
  EXPECT_GT(control->unsynced, 0u);  // commit-only saves skipped the fsync
  EXPECT_EQ(control->unsynced_must_sync, 0u);
}

TEST_F(NodeTest, FollowerAnswersNotLeaderWithHint) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  const NodeId follower = leader == 1 ? 2 : 1;
  ProposeResult r = cluster->ProposeAndWait(follower, "x");
  EXPECT_EQ(r.status.code(), StatusCode::kNotLeader) << r.status;
  EXPECT_EQ(r.leader_hint, leader);
  EXPECT_NE(r.status.message().find(std::to_string(leader)), std::string::npos);
  EXPECT_TRUE(cluster->sm(follower)->Values().empty());
}

TEST_F(NodeTest, ProposalTimesOutWhenTheLeaderIsCutOff) {
  NodeOptions options = FastOptions();
  options.raft.check_quorum = false;  // the isolated leader keeps believing it leads
  auto cluster = MakeCluster({1, 2, 3}, options);
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  network_.Isolate(leader);
  const auto start = std::chrono::steady_clock::now();
  ProposeResult r = cluster->ProposeAndWait(leader, "lost", 150ms);
  EXPECT_EQ(r.status.code(), StatusCode::kTimeout) << r.status;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);

  // A deadline already in the past fails in the queue.
  std::promise<ProposeResult> p;
  cluster->node(leader)->Propose("late", Node::Clock::now() - 1ms,
                                 [&](ProposeResult r2) { p.set_value(std::move(r2)); });
  EXPECT_EQ(p.get_future().get().status.code(), StatusCode::kTimeout);
}

TEST_F(NodeTest, ProposalOfADeposedLeaderNeverReportsSuccess) {
  NodeOptions options = FastOptions();
  options.raft.check_quorum = false;  // the cut-off leader keeps its pending entry
  std::promise<ProposeResult> orphan;  // outlives the cluster (declared first)
  auto cluster = MakeCluster({1, 2, 3}, options);
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId old_leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(old_leader, kNoNode);
  ASSERT_TRUE(cluster->ProposeAndWait(old_leader, "base").status.ok());

  network_.Isolate(old_leader);
  cluster->node(old_leader)->Propose("orphan", Node::Clock::now() + 10s,
                                     [&](ProposeResult r) { orphan.set_value(std::move(r)); });
  const NodeId new_leader = cluster->WaitForLeader(3000ms, old_leader);
  ASSERT_NE(new_leader, kNoNode);
  ProposeResult winner = cluster->ProposeAndWait(new_leader, "winner");
  ASSERT_TRUE(winner.status.ok()) << winner.status;

  network_.Heal();  // the old leader learns of the new term and steps down
  auto f = orphan.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  const ProposeResult r = f.get();
  EXPECT_TRUE(r.status.code() == StatusCode::kNotLeader ||
              r.status.code() == StatusCode::kAborted)
      << r.status;
  ASSERT_TRUE(cluster->WaitApplied(winner.index, 3000ms));
  for (NodeId id : cluster->ids()) {
    EXPECT_EQ(cluster->sm(id)->Values(), (std::vector<std::string>{"base", "winner"})) << id;
  }
}

TEST_F(NodeTest, ReadIndexCompletesAfterTheWriteIsApplied) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  ProposeResult w = cluster->ProposeAndWait(leader, "w");
  ASSERT_TRUE(w.status.ok()) << w.status;
  for (NodeId id : cluster->ids()) {
    RecordingStateMachine* sm = cluster->sm(id);
    // Retry while a fresh leader has not committed in its term (kUnavailable).
    ReadResult result;
    size_t seen = 0;
    ASSERT_TRUE(WaitFor(
        [&] {
          std::promise<std::pair<ReadResult, size_t>> attempt;
          cluster->node(id)->ReadIndex([&](ReadResult r) {
            attempt.set_value({r, sm->Values().size()});  // read inside the callback
          });
          auto [r, n] = attempt.get_future().get();
          result = r;
          seen = n;
          return r.status.code() != StatusCode::kUnavailable;
        },
        3000ms));
    ASSERT_TRUE(result.status.ok()) << id << ": " << result.status;
    EXPECT_GE(result.index, w.index) << id;
    EXPECT_GE(seen, 1u) << id << ": the read must observe the committed write";
  }
}

TEST_F(NodeTest, StopAbortsPendingAndRefusesNewWork) {
  NodeOptions options = FastOptions();
  options.raft.check_quorum = false;
  std::promise<ProposeResult> p;  // outlive the cluster (declared first)
  std::promise<ReadResult> read;
  std::atomic<int> calls{0};
  auto cluster = MakeCluster({1, 2, 3}, options);
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  network_.Isolate(leader);
  cluster->node(leader)->Propose("pending", Node::Clock::now() + 60s, [&](ProposeResult r) {
    ++calls;
    p.set_value(std::move(r));
  });
  cluster->node(leader)->ReadIndex(Node::Clock::now() + 60s,
                                   [&](ReadResult r) { read.set_value(std::move(r)); });
  // Wait until the proposal was appended (it is then pending, not queued).
  ASSERT_TRUE(WaitFor([&] { return cluster->node(leader)->GetStatus().proposals_batched > 0; },
                      3000ms));
  cluster->node(leader)->Stop();
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(f.get().status.code(), StatusCode::kAborted);
  EXPECT_EQ(read.get_future().get().status.code(), StatusCode::kAborted);
  cluster->node(leader)->Stop();  // idempotent
  EXPECT_EQ(calls.load(), 1);

  std::promise<ProposeResult> after;
  cluster->node(leader)->Propose("after", [&](ProposeResult r) { after.set_value(r); });
  EXPECT_EQ(after.get_future().get().status.code(), StatusCode::kAborted);
  EXPECT_FALSE(cluster->node(leader)->GetStatus().running);
}

TEST_F(NodeTest, StorageFailureStopsTheNodeLoudly) {
  auto control = std::make_shared<ControlledStorage::Control>();
  TestCluster cluster(
      {1}, FastOptions(),
      [control](NodeId) { return std::make_unique<ControlledStorage>(control); },
      [this](NodeId id) { return network_.NewTransport(id); });
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_EQ(cluster.WaitForLeader(3000ms), 1u);
  ASSERT_TRUE(cluster.ProposeAndWait(1, "good").status.ok());
  {
    std::lock_guard lock(control->mu);
    control->fail = true;
  }
  ProposeResult r = cluster.ProposeAndWait(1, "bad");
  EXPECT_EQ(r.status.code(), StatusCode::kIOError) << r.status;
  EXPECT_NE(r.status.message().find("injected disk failure"), std::string::npos);
  ProposeResult refused = cluster.ProposeAndWait(1, "refused");
  EXPECT_EQ(refused.status.code(), StatusCode::kIOError);
  const NodeStatus status = cluster.node(1)->GetStatus();
  EXPECT_EQ(status.error.code(), StatusCode::kIOError);
  EXPECT_FALSE(status.running);
  EXPECT_EQ(cluster.sm(1)->Values(), std::vector<std::string>{"good"});
}

TEST_F(NodeTest, EmptyProposalIsRejected) {
  auto cluster = MakeCluster({1});
  ASSERT_TRUE(cluster->StartAll().ok());
  ProposeResult r = cluster->ProposeAndWait(1, "");
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST_F(NodeTest, CreateRejectsBadArguments) {
  RecordingStateMachine sm;
  NodeOptions options = FastOptions();
  options.raft.peers = {1};
  auto no_id = Node::Create(options, std::make_unique<MemoryStorage>(),
                            network_.NewTransport(1), &sm);
  EXPECT_EQ(no_id.status().code(), StatusCode::kInvalidArgument);
  options.raft.id = 1;
  auto no_sm = Node::Create(options, std::make_unique<MemoryStorage>(),
                            network_.NewTransport(1), nullptr);
  EXPECT_EQ(no_sm.status().code(), StatusCode::kInvalidArgument);
  options.tick_interval = 0ms;
  auto no_tick = Node::Create(options, std::make_unique<MemoryStorage>(),
                              network_.NewTransport(1), &sm);
  EXPECT_EQ(no_tick.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(NodeTest, LaggingMemberCatchesUpFromASnapshot) {
  NodeOptions options = FastOptions();
  options.snapshot_threshold = 20;
  options.snapshot_keep_entries = 5;
  auto cluster = MakeCluster({1, 2, 3}, options);
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  const NodeId lagging = leader == 3 ? 2 : 3;
  network_.Isolate(lagging);
  std::vector<std::string> expected;
  Index last = 0;
  for (int i = 0; i < 60; ++i) {
    expected.push_back("s" + std::to_string(i));
    ProposeResult r = cluster->ProposeAndWait(leader, expected.back());
    ASSERT_TRUE(r.status.ok()) << r.status;
    last = r.index;
  }
  const NodeStatus ls = cluster->node(leader)->GetStatus();
  EXPECT_GT(ls.snapshots_taken, 0u);
  EXPECT_GT(ls.snapshot_index, 5u);
  network_.Heal();
  ASSERT_TRUE(cluster->WaitApplied(last, 5000ms));
  EXPECT_GT(cluster->node(lagging)->GetStatus().snapshots_installed, 0u);
  EXPECT_GT(cluster->sm(lagging)->restores(), 0u);
  for (NodeId id : cluster->ids()) EXPECT_EQ(cluster->sm(id)->Values(), expected) << id;
}

TEST_F(NodeTest, LeadershipTransferMovesTheLeader) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(cluster->ProposeAndWait(leader, "before").status.ok());
  const NodeId target = leader == 1 ? 2 : 1;
  std::promise<Status> started;
  cluster->node(leader)->TransferLeadership(target, [&](Status s) { started.set_value(s); });
  ASSERT_TRUE(started.get_future().get().ok());
  EXPECT_TRUE(WaitFor([&] { return cluster->WaitForLeader(100ms) == target; }, 3000ms));
}

TEST_F(NodeTest, ConfChangeAddsAndRemovesTransportPeers) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(cluster->ProposeAndWait(leader, "first").status.ok());

  pb::ConfChange add;
  add.set_type(pb::CONF_ADD_LEARNER);
  add.set_node_id(4);
  add.set_context("127.0.0.4:7421");
  std::promise<ProposeResult> added;
  cluster->node(leader)->ProposeConfChange(add, [&](ProposeResult r) { added.set_value(r); });
  ProposeResult r = added.get_future().get();
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_TRUE(cluster->WaitApplied(r.index, 3000ms));
  for (NodeId id : cluster->ids()) {
    EXPECT_EQ(network_.PeersOf(id)[4], "127.0.0.4:7421") << id;
    EXPECT_EQ(cluster->node(id)->GetStatus().raft.conf_state.learners_size(), 1) << id;
  }

  pb::ConfChange remove;
  remove.set_type(pb::CONF_REMOVE_NODE);
  remove.set_node_id(4);
  std::promise<ProposeResult> removed;
  cluster->node(leader)->ProposeConfChange(remove,
                                           [&](ProposeResult r2) { removed.set_value(r2); });
  ProposeResult r2 = removed.get_future().get();
  ASSERT_TRUE(r2.status.ok()) << r2.status;
  ASSERT_TRUE(cluster->WaitApplied(r2.index, 3000ms));
  for (NodeId id : cluster->ids()) EXPECT_EQ(network_.PeersOf(id).count(4), 0u) << id;
}

TEST_F(NodeTest, JoiningMemberCatchesUpAndIsPromotedToVoter) {
  auto cluster = MakeCluster({1, 2, 3});
  ASSERT_TRUE(cluster->StartAll().ok());
  const NodeId leader = cluster->WaitForLeader(3000ms);
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(cluster->ProposeAndWait(leader, "first").status.ok());
  auto change = [&](pb::ConfChangeType type) {
    pb::ConfChange c;
    c.set_type(type);
    c.set_node_id(4);
    c.set_context("127.0.0.4:7421");
    std::promise<ProposeResult> p;
    cluster->node(leader)->ProposeConfChange(c, [&](ProposeResult r) { p.set_value(r); });
    return p.get_future().get();
  };
  ASSERT_TRUE(change(pb::CONF_ADD_LEARNER).status.ok());

  // The new member starts with an empty store and no initial membership.
  NodeOptions options = FastOptions();
  options.raft.id = 4;
  options.peer_addresses = {{1, "127.0.0.1:7421"}, {2, "127.0.0.2:7421"}, {3, "127.0.0.3:7421"}};
  RecordingStateMachine sm4;
  auto joiner = Node::Create(options, std::make_unique<MemoryStorage>(),
                             network_.NewTransport(4), &sm4);
  ASSERT_TRUE(joiner.ok()) << joiner.status();
  ASSERT_TRUE((*joiner)->Start().ok());
  EXPECT_EQ(network_.PeersOf(4).size(), 3u);

  ProposeResult second = cluster->ProposeAndWait(leader, "second");
  ASSERT_TRUE(second.status.ok()) << second.status;
  ASSERT_TRUE(WaitFor([&] { return (*joiner)->GetStatus().applied >= second.index; }, 3s));
  EXPECT_EQ(sm4.Values(), (std::vector<std::string>{"first", "second"}));

  ProposeResult promoted = change(pb::CONF_ADD_VOTER);
  ASSERT_TRUE(promoted.status.ok()) << promoted.status;
  ASSERT_TRUE(WaitFor([&] { return (*joiner)->GetStatus().applied >= promoted.index; }, 3s));
  EXPECT_EQ((*joiner)->GetStatus().raft.conf_state.voters_size(), 4);
  ProposeResult third = cluster->ProposeAndWait(leader, "third");
  ASSERT_TRUE(third.status.ok()) << third.status;
  ASSERT_TRUE(WaitFor([&] { return sm4.size() == 3; }, 3s));
  EXPECT_EQ(sm4.Values(), cluster->sm(leader)->Values());
}

TEST_F(NodeTest, RestartRebuildsAnInMemoryStateMachineFromSnapshotAndLog) {
  auto storage = std::make_shared<MemoryStorage>();
  NodeOptions options = FastOptions();
  options.raft.id = 1;
  options.raft.peers = {1};
  options.snapshot_threshold = 10;
  options.snapshot_keep_entries = 2;
  std::vector<std::string> expected;
  {
    RecordingStateMachine sm;
    auto node = Node::Create(options, std::make_unique<SharedStorage>(storage),
                             network_.NewTransport(1), &sm);
    ASSERT_TRUE(node.ok()) << node.status();
    ASSERT_TRUE((*node)->Start().ok());
    ASSERT_TRUE(WaitFor([&] { return (*node)->GetStatus().raft.role == Role::kLeader; }, 3s));
    for (int i = 0; i < 25; ++i) {
      expected.push_back("r" + std::to_string(i));
      std::promise<ProposeResult> p;
      (*node)->Propose(expected.back(), [&](ProposeResult r) { p.set_value(std::move(r)); });
      ASSERT_TRUE(p.get_future().get().status.ok());
    }
    EXPECT_GT((*node)->GetStatus().snapshots_taken, 0u);
  }
  ASSERT_GT(storage->SnapshotMetadata().index(), 0u);
  RecordingStateMachine fresh;  // in-memory application: starts empty
  auto node = Node::Create(options, std::make_unique<SharedStorage>(storage),
                           network_.NewTransport(1), &fresh);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(fresh.restores(), 1u);  // restored from the snapshot in Create
  ASSERT_TRUE((*node)->Start().ok());
  // The committed tail after the snapshot is applied again once the member leads.
  ASSERT_TRUE(WaitFor([&] { return fresh.size() == expected.size(); }, 3s));
  EXPECT_EQ(fresh.Values(), expected);
}

TEST_F(NodeTest, RestartOfAPersistentStateMachineSkipsWhatItApplied) {
  auto storage = std::make_shared<MemoryStorage>();
  NodeOptions options = FastOptions();
  options.raft.id = 1;
  options.raft.peers = {1};
  RecordingStateMachine sm;  // survives the restart, like a persistent application
  {
    auto node = Node::Create(options, std::make_unique<SharedStorage>(storage),
                             network_.NewTransport(1), &sm);
    ASSERT_TRUE(node.ok());
    ASSERT_TRUE((*node)->Start().ok());
    ASSERT_TRUE(WaitFor([&] { return (*node)->GetStatus().raft.role == Role::kLeader; }, 3s));
    for (const char* v : {"a", "b", "c"}) {
      std::promise<ProposeResult> p;
      (*node)->Propose(v, [&](ProposeResult r) { p.set_value(std::move(r)); });
      ASSERT_TRUE(p.get_future().get().status.ok());
    }
  }
  options.raft.applied = sm.last_index();
  auto node = Node::Create(options, std::make_unique<SharedStorage>(storage),
                           network_.NewTransport(1), &sm);
  ASSERT_TRUE(node.ok()) << node.status();
  ASSERT_TRUE((*node)->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return (*node)->GetStatus().raft.role == Role::kLeader; }, 3s));
  std::promise<ProposeResult> p;
  (*node)->Propose("d", [&](ProposeResult r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(p.get_future().get().status.ok());
  EXPECT_EQ(sm.Values(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(sm.restores(), 0u);
}

}  // namespace
}  // namespace coord::raft::testing
