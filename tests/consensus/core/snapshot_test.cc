// Snapshots: compaction catch-up through a chunked InstallSnapshot, loss and
// duplication during the transfer, keep_entries, restart from a snapshot.
#include <gtest/gtest.h>

#include "test_network.h"

namespace coord::raft::testing {
namespace {

void ProposeMany(TestNetwork& net, int n, const std::string& prefix) {
  for (int i = 0; i < n; ++i) {
    NodeId l = net.Leader();
    ASSERT_NE(l, kNoNode);
    ASSERT_TRUE(net.node(l).Propose(prefix + std::to_string(i)).ok());
  }
  net.DeliverAll();
}

TEST(SnapshotTest, LaggingFollowerCatchesUpByChunkedSnapshot) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.snapshot_chunk_bytes = 64; });
  net.Elect(1);
  net.Isolate(3);
  ProposeMany(net, 50, "value-");
  net.Compact(1, 0);
  ASSERT_GT(net.storage(1).FirstIndex(), net.node(3).last_index() + 1);
  ASSERT_TRUE(net.storage(1).GetSnapshot().ok());
  uint64_t image = net.storage(1).GetSnapshot()->data().size();
  ASSERT_GT(image, 64u * 3);  // several chunks
  net.Recover();
  net.ClearSent();
  net.Run(5);
  int chunks = 0;
  bool saw_done = false;
  for (const auto& m : net.sent()) {
    if (m.type() != pb::MSG_SNAPSHOT || m.to() != 3) continue;
    ++chunks;
    EXPECT_LE(m.snapshot().data().size(), 64u);
    EXPECT_EQ(m.snapshot().total_size(), image);
    saw_done |= m.snapshot().done();
  }
  EXPECT_GE(chunks, static_cast<int>((image + 63) / 64));
  EXPECT_TRUE(saw_done);
  EXPECT_EQ(net.snapshots_installed(3), 1u);
  EXPECT_EQ(net.node(3).last_index(), net.node(1).last_index());
  EXPECT_EQ(net.applied_index(3), net.node(1).commit());
  EXPECT_EQ(net.applied(3).at(net.applied_index(3)).data, "value-49");
  // Replication resumes normally after the snapshot.
  ProposeMany(net, 3, "after-");
  EXPECT_EQ(net.applied(3).rbegin()->second.data, "after-2");
  EXPECT_EQ(net.storage(3).SnapshotMetadata().index(), net.storage(1).SnapshotMetadata().index());
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(SnapshotTest, TransferSurvivesLossAndDuplication) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.snapshot_chunk_bytes = 32; });
  net.Elect(1);
  net.Isolate(3);
  ProposeMany(net, 40, "v");
  net.Compact(1, 0);
  net.Recover();
  // Drop every third snapshot chunk and duplicate the others.
  int seen = 0;
  net.SetFilter([&seen](pb::Message& m) {
    if (m.type() == pb::MSG_SNAPSHOT) return ++seen % 3 != 0;
    return true;
  });
  for (int i = 0; i < 60 && net.snapshots_installed(3) == 0; ++i) {
    // Duplicate queued snapshot messages.
    std::deque<pb::Message> dup;
    for (const auto& m : net.queue()) {
      dup.push_back(m);
      if (m.type() == pb::MSG_SNAPSHOT || m.type() == pb::MSG_SNAPSHOT_RESP) dup.push_back(m);
    }
    net.queue().swap(dup);
    net.Run(1);
  }
  EXPECT_EQ(net.snapshots_installed(3), 1u);
  net.Recover();
  net.Run(3);
  EXPECT_EQ(net.applied_index(3), net.node(1).commit());
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(SnapshotTest, KeepEntriesLetsAFollowerCatchUpFromTheLog) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  net.Isolate(3);
  ProposeMany(net, 10, "k");
  net.Compact(1, 100);  // the tail covers everything 3 misses
  net.Recover();
  net.ClearSent();
  net.Run(3);
  for (const auto& m : net.sent()) EXPECT_NE(m.type(), pb::MSG_SNAPSHOT);
  EXPECT_EQ(net.snapshots_installed(3), 0u);
  EXPECT_EQ(net.applied_index(3), net.node(1).commit());
}

TEST(SnapshotTest, StalledTransferRestarts) {
  TestNetwork net({1, 2, 3}, {}, [](Config& c) { c.snapshot_chunk_bytes = 16; });
  net.Elect(1);
  net.Isolate(3);
  ProposeMany(net, 20, "s");
  net.Compact(1, 0);
  net.Recover();
  // The follower's answers to snapshot chunks are lost for a while.
  net.SetFilter([](pb::Message& m) { return m.type() != pb::MSG_SNAPSHOT_RESP; });
  net.Run(25);
  EXPECT_EQ(net.snapshots_installed(3), 0u);
  net.Recover();
  net.Run(40);
  EXPECT_EQ(net.snapshots_installed(3), 1u);
  EXPECT_EQ(net.applied_index(3), net.node(1).commit());
}

TEST(SnapshotTest, RestartFromSnapshotRestoresMembershipAndLog) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  ProposeMany(net, 5, "r");
  net.Compact(2, 1);
  Index commit = net.node(2).commit();
  net.Restart(2);
  EXPECT_EQ(net.node(2).commit(), commit);
  EXPECT_EQ(net.node(2).last_index(), net.node(1).last_index());
  EXPECT_EQ(net.node(2).conf_state().voters_size(), 3);
  net.Run(3);
  ProposeMany(net, 2, "after");
  EXPECT_EQ(net.applied(2).rbegin()->second.data, "after1");
  std::string why;
  EXPECT_TRUE(net.AppliedConsistent(&why)) << why;
}

TEST(SnapshotTest, MalformedChunkIsRejectedWithoutCrash) {
  TestNetwork net({1, 2, 3});
  net.Elect(1);
  pb::Message m;
  m.set_type(pb::MSG_SNAPSHOT);
  m.set_from(1);
  m.set_to(2);
  m.set_term(net.node(1).term());
  m.mutable_snapshot()->mutable_metadata()->set_index(100);
  m.mutable_snapshot()->mutable_metadata()->set_term(net.node(1).term());
  m.mutable_snapshot()->set_offset(10);
  m.mutable_snapshot()->set_total_size(5);
  m.mutable_snapshot()->set_data("xx");
  EXPECT_EQ(net.node(2).Step(m).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(2).commit(), net.node(1).commit());
}

}  // namespace
}  // namespace coord::raft::testing
