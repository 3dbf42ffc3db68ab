// Node driver tests with real I/O: three members over TcpTransport on
// 127.0.0.1/.2/.3 with LevelDbStorage (fsync on) in temporary directories.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "consensus/node/node_test_util.h"
#include "coord/consensus/leveldb_storage.h"
#include "coord/consensus/node.h"
#include "coord/consensus/tcp_transport.h"

namespace coord::raft::testing {
namespace {

namespace fs = std::filesystem;

// A free TCP port on `host` (bound and released; the transport sets SO_REUSEADDR).
uint16_t FreePort(const std::string& host) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io);
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host), 0);
  acceptor.open(ep.protocol());
  acceptor.bind(ep);
  return acceptor.local_endpoint().port();
}

class RealIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    std::string tmpl = (fs::temp_directory_path() / "coord-node-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    for (NodeId id : {1, 2, 3}) {
      const std::string host = "127.0.0." + std::to_string(id);
      addresses_[id] = host + ":" + std::to_string(FreePort(host));
    }
  }
  void TearDown() override {
    cluster_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Slightly slower ticks than the fake-network tests: every round trip includes
  // two fsyncs on a shared disk.
  NodeOptions RealOptions() {
    NodeOptions options = FastOptions();
    options.tick_interval = 20ms;
    options.peer_addresses = addresses_;
    options.default_timeout = 5000ms;
    return options;
  }

  void MakeCluster(NodeOptions options) {
    cluster_ = std::make_unique<TestCluster>(
        std::vector<NodeId>{1, 2, 3}, options,
        [this](NodeId id) -> std::unique_ptr<LogStorage> {
          LevelDbStorageOptions o;
          o.dir = (fs::path(root_) / std::to_string(id)).string();
          auto s = LevelDbStorage::Open(o);
          if (!s.ok()) {
            ADD_FAILURE() << "open " << o.dir << ": " << s.status();
            return nullptr;
          }
          return std::move(*s);
        },
        [this](NodeId id) -> std::unique_ptr<Transport> {
          TcpTransportOptions o;
          o.self_id = id;
          o.listen_address = addresses_[id];
          o.reconnect_initial = 20ms;
          o.reconnect_max = 200ms;
          return std::make_unique<TcpTransport>(o);
        });
  }

  // Proposes `n` values "<prefix><i>" through the leader; returns the last index.
  Index ProposeMany(const std::string& prefix, int n, std::vector<std::string>* values) {
    Index last = 0;
    for (int i = 0; i < n; ++i) {
      const std::string v = prefix + std::to_string(i);
      ProposeResult r = cluster_->ProposeToLeader(v, 10000ms);
      EXPECT_TRUE(r.status.ok()) << v << ": " << r.status;
      if (!r.status.ok()) return last;
      values->push_back(v);
      last = r.index;
    }
    return last;
  }

  void ExpectAllEqual(const std::vector<std::string>& expected) {
    for (NodeId id : cluster_->ids()) {
      if (cluster_->running(id)) {
        EXPECT_EQ(cluster_->sm(id)->Values(), expected) << id;
      }
    }
  }

  // Proposes concurrently, stops and restarts all three members, and checks that
  // every acknowledged value is in every member's rebuilt state.
  void CheckDurability();

  std::string root_;
  std::map<NodeId, std::string> addresses_;
  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(RealIoTest, ElectReplicateAndRestartAMember) {
  MakeCluster(RealOptions());
  ASSERT_TRUE(cluster_->StartAll().ok());
  const NodeId leader = cluster_->WaitForLeader(10000ms);
  ASSERT_NE(leader, kNoNode);
  std::vector<std::string> values;
  Index last = ProposeMany("a", 20, &values);
  ASSERT_TRUE(cluster_->WaitApplied(last, 10000ms));
  ExpectAllEqual(values);

  const NodeId follower = leader == 1 ? 2 : 1;
  cluster_->StopMember(follower);
  last = ProposeMany("b", 20, &values);
  ASSERT_TRUE(cluster_->StartMember(follower).ok());  // restart from its directory
  ASSERT_TRUE(cluster_->WaitApplied(last, 10000ms));
  ExpectAllEqual(values);
}

TEST_F(RealIoTest, StoppingTheLeaderElectsANewOneAndWritesResume) {
  MakeCluster(RealOptions());
  ASSERT_TRUE(cluster_->StartAll().ok());
  const NodeId old_leader = cluster_->WaitForLeader(10000ms);
  ASSERT_NE(old_leader, kNoNode);
  std::vector<std::string> values;
  ProposeMany("before", 10, &values);
  cluster_->StopMember(old_leader);
  const NodeId new_leader = cluster_->WaitForLeader(10000ms);
  ASSERT_NE(new_leader, kNoNode);
  EXPECT_NE(new_leader, old_leader);
  const Index last = ProposeMany("after", 10, &values);
  ASSERT_TRUE(cluster_->WaitApplied(last, 10000ms));
  ExpectAllEqual(values);
  EXPECT_GT(cluster_->node(new_leader)->GetStatus().raft.term, 1u);
}

TEST_F(RealIoTest, StoppedMemberCatchesUpFromASnapshotAfterCompaction) {
  NodeOptions options = RealOptions();
  options.snapshot_threshold = 30;
  options.snapshot_keep_entries = 5;
  MakeCluster(options);
  ASSERT_TRUE(cluster_->StartAll().ok());
  const NodeId leader = cluster_->WaitForLeader(10000ms);
  ASSERT_NE(leader, kNoNode);
  std::vector<std::string> values;
  ProposeMany("x", 5, &values);
  const NodeId lagging = leader == 3 ? 2 : 3;
  ASSERT_TRUE(cluster_->WaitApplied(cluster_->node(leader)->GetStatus().applied, 10000ms));
  const Index lagging_applied = cluster_->node(lagging)->GetStatus().applied;
  cluster_->StopMember(lagging);

  const Index last = ProposeMany("y", 100, &values);
  const NodeStatus ls = cluster_->node(leader)->GetStatus();
  ASSERT_GT(ls.snapshots_taken, 0u);
  // The leader compacted past everything the stopped member has.
  ASSERT_GT(ls.snapshot_index, lagging_applied + options.snapshot_keep_entries);

  ASSERT_TRUE(cluster_->StartMember(lagging).ok());
  ASSERT_TRUE(cluster_->WaitApplied(last, 15000ms));
  EXPECT_GT(cluster_->node(lagging)->GetStatus().snapshots_installed, 0u);
  ExpectAllEqual(values);

  // And it survives its own restart from the installed snapshot.
  cluster_->StopMember(lagging);
  ASSERT_TRUE(cluster_->StartMember(lagging).ok());
  ASSERT_TRUE(cluster_->WaitApplied(last, 10000ms));
  ExpectAllEqual(values);
}

TEST_F(RealIoTest, AcknowledgedWritesSurviveARestartOfAllMembers) {
  NodeOptions options = RealOptions();
  options.snapshot_threshold = 50;  // restart also goes through snapshot + log replay
  options.snapshot_keep_entries = 10;
  MakeCluster(options);
  CheckDurability();
}

TEST_F(RealIoTest, AcknowledgedWritesSurviveWithUnsyncedCommitUpdates) {
  NodeOptions options = RealOptions();
  options.sync_commit_updates = false;
  options.snapshot_threshold = 50;
  options.snapshot_keep_entries = 10;
  MakeCluster(options);
  CheckDurability();
  uint64_t saves = 0;
  uint64_t synced = 0;
  for (NodeId id : cluster_->ids()) {
    const NodeStatus s = cluster_->node(id)->GetStatus();
    saves += s.saves;
    synced += s.synced_saves;
  }
  EXPECT_LT(synced, saves) << "commit-only saves skip the fsync";
}

void RealIoTest::CheckDurability() {
  ASSERT_TRUE(cluster_->StartAll().ok());
  ASSERT_NE(cluster_->WaitForLeader(10000ms), kNoNode);

  std::mutex mu;
  std::set<std::string> acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const std::string v = "d" + std::to_string(t) + "-" + std::to_string(i);
        ProposeResult r = cluster_->ProposeToLeader(v, 10000ms);
        if (r.status.ok()) {
          std::lock_guard lock(mu);
          acked.insert(v);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_GE(acked.size(), 100u);  // a healthy cluster acknowledges (nearly) all

  cluster_->StopAll();
  ASSERT_TRUE(cluster_->StartAll().ok());
  // A write of the new term commits everything before it on every member.
  ProposeResult marker = cluster_->ProposeToLeader("marker", 15000ms);
  ASSERT_TRUE(marker.status.ok()) << marker.status;
  ASSERT_TRUE(cluster_->WaitApplied(marker.index, 10000ms));
  std::vector<std::string> reference = cluster_->sm(1)->Values();
  for (NodeId id : cluster_->ids()) {
    std::vector<std::string> got = cluster_->sm(id)->Values();
    EXPECT_EQ(got, reference) << id;
    std::set<std::string> have(got.begin(), got.end());
    for (const std::string& v : acked) EXPECT_TRUE(have.count(v)) << id << " lost " << v;
  }
}

}  // namespace
}  // namespace coord::raft::testing
