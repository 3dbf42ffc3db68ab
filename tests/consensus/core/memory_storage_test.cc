#include "coord/consensus/memory_storage.h"

#include <gtest/gtest.h>

namespace coord::raft {
namespace {

pb::Entry E(Index i, Term t, std::string data = "") {
  pb::Entry e;
  e.set_index(i);
  e.set_term(t);
  e.set_data(std::move(data));
  return e;
}

Status SaveEntries(MemoryStorage& s, std::vector<pb::Entry> es, Index commit = 0) {
  pb::HardState hs;
  hs.set_term(es.empty() ? 1 : es.back().term());
  hs.set_commit(commit);
  PersistBatch b;
  b.entries = &es;
  b.hard_state = &hs;
  return s.Save(b);
}

TEST(MemoryStorageTest, FreshStore) {
  MemoryStorage s;
  EXPECT_EQ(s.FirstIndex(), 1u);
  EXPECT_EQ(s.LastIndex(), 0u);
  ASSERT_TRUE(s.TermAt(0).ok());
  EXPECT_EQ(*s.TermAt(0), 0u);
  EXPECT_EQ(s.TermAt(1).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.GetSnapshot().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.HardState().term(), 0u);
}

TEST(MemoryStorageTest, SaveAppendsAndTruncates) {
  MemoryStorage s;
  ASSERT_TRUE(SaveEntries(s, {E(1, 1), E(2, 1), E(3, 2)}).ok());
  EXPECT_EQ(s.LastIndex(), 3u);
  EXPECT_EQ(*s.TermAt(3), 2u);
  // Overwrite a conflicting suffix.
  ASSERT_TRUE(SaveEntries(s, {E(2, 3)}).ok());
  EXPECT_EQ(s.LastIndex(), 2u);
  EXPECT_EQ(*s.TermAt(2), 3u);
  // A gap is refused and changes nothing.
  EXPECT_EQ(SaveEntries(s, {E(5, 3)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.LastIndex(), 2u);
  // Non-contiguous entries are refused.
  EXPECT_EQ(SaveEntries(s, {E(3, 3), E(5, 3)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.LastIndex(), 2u);
  EXPECT_EQ(s.TEST_SaveCount(), 2u);
}

TEST(MemoryStorageTest, EntriesHonoursBoundsAndBytes) {
  MemoryStorage s;
  ASSERT_TRUE(SaveEntries(s, {E(1, 1, std::string(100, 'a')), E(2, 1, std::string(100, 'b')),
                              E(3, 1, std::string(100, 'c'))})
                  .ok());
  auto all = s.Entries(1, 4, UINT64_MAX);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  uint64_t one = (*all)[0].ByteSizeLong();
  auto two = s.Entries(1, 4, 2 * one);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  auto at_least_one = s.Entries(2, 4, 1);
  ASSERT_TRUE(at_least_one.ok());
  ASSERT_EQ(at_least_one->size(), 1u);
  EXPECT_EQ((*at_least_one)[0].index(), 2u);
  EXPECT_EQ(s.Entries(1, 5, 100).status().code(), StatusCode::kUnavailable);
  auto empty = s.Entries(2, 2, 100);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(MemoryStorageTest, CreateSnapshotCompactsKeepingATail) {
  MemoryStorage s;
  std::vector<pb::Entry> es;
  for (Index i = 1; i <= 10; ++i) es.push_back(E(i, i <= 5 ? 1 : 2));
  ASSERT_TRUE(SaveEntries(s, es, 8).ok());
  pb::SnapshotMetadata md;
  md.set_index(8);
  md.set_term(2);
  md.mutable_conf_state()->add_voters(1);
  // Above the commit index: refused.
  pb::SnapshotMetadata bad = md;
  bad.set_index(9);
  EXPECT_EQ(s.CreateSnapshot(bad, "x", 0).code(), StatusCode::kInvalidArgument);
  // Wrong term: refused.
  bad = md;
  bad.set_term(1);
  EXPECT_EQ(s.CreateSnapshot(bad, "x", 0).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(s.CreateSnapshot(md, "state", 3).ok());
  EXPECT_EQ(s.FirstIndex(), 6u);  // compacted through 8 - 3 = 5
  EXPECT_EQ(*s.TermAt(5), 1u);    // the compaction point's term is still known
  EXPECT_EQ(s.TermAt(4).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.Entries(5, 7, 100).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.LastIndex(), 10u);
  auto snap = s.GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata().index(), 8u);
  EXPECT_EQ(snap->data(), "state");
  EXPECT_EQ(s.SnapshotMetadata().index(), 8u);
  // An older snapshot is refused.
  pb::SnapshotMetadata older;
  older.set_index(7);
  older.set_term(2);
  EXPECT_EQ(s.CreateSnapshot(older, "x", 0).code(), StatusCode::kInvalidArgument);
  // Writing below the compaction point is refused.
  EXPECT_EQ(SaveEntries(s, {E(5, 3)}).code(), StatusCode::kInvalidArgument);
}

TEST(MemoryStorageTest, SaveSnapshotResetsTheLog) {
  MemoryStorage s;
  ASSERT_TRUE(SaveEntries(s, {E(1, 1), E(2, 1)}).ok());
  pb::Snapshot snap;
  snap.mutable_metadata()->set_index(20);
  snap.mutable_metadata()->set_term(4);
  snap.set_data("img");
  std::vector<pb::Entry> after{E(21, 4)};
  pb::HardState hs;
  hs.set_term(4);
  hs.set_commit(20);
  PersistBatch b;
  b.snapshot = &snap;
  b.entries = &after;
  b.hard_state = &hs;
  ASSERT_TRUE(s.Save(b).ok());
  EXPECT_EQ(s.FirstIndex(), 21u);
  EXPECT_EQ(s.LastIndex(), 21u);
  EXPECT_EQ(*s.TermAt(20), 4u);
  EXPECT_EQ(s.HardState().commit(), 20u);
  EXPECT_EQ(s.GetSnapshot()->data(), "img");
  // An older snapshot afterwards is refused.
  pb::Snapshot old;
  old.mutable_metadata()->set_index(10);
  old.mutable_metadata()->set_term(3);
  PersistBatch b2;
  b2.snapshot = &old;
  EXPECT_EQ(s.Save(b2).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coord::raft
