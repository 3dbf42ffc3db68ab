#include "core/raft_log.h"

#include <gtest/gtest.h>

#include "coord/consensus/memory_storage.h"

namespace coord::raft {
namespace {

pb::Entry E(Index i, Term t) {
  pb::Entry e;
  e.set_index(i);
  e.set_term(t);
  return e;
}

std::vector<pb::Entry> Es(std::initializer_list<std::pair<Index, Term>> l) {
  std::vector<pb::Entry> out;
  for (auto [i, t] : l) out.push_back(E(i, t));
  return out;
}

void Persist(MemoryStorage& s, std::vector<pb::Entry> es) {
  PersistBatch b;
  b.entries = &es;
  ASSERT_TRUE(s.Save(b).ok());
}

google::protobuf::RepeatedPtrField<pb::Entry> Rep(std::vector<pb::Entry> es) {
  google::protobuf::RepeatedPtrField<pb::Entry> r;
  for (auto& e : es) *r.Add() = e;
  return r;
}

TEST(RaftLogTest, ReadsAcrossStorageAndUnstable) {
  MemoryStorage s;
  Persist(s, Es({{1, 1}, {2, 1}, {3, 2}}));
  RaftLog log(&s, 0, 0);
  EXPECT_EQ(log.LastIndex(), 3u);
  log.Append(Es({{4, 2}, {5, 3}}));
  EXPECT_EQ(log.LastIndex(), 5u);
  EXPECT_EQ(log.LastTerm(), 3u);
  EXPECT_EQ(log.TermOrZero(3), 2u);
  EXPECT_EQ(log.TermOrZero(4), 2u);
  EXPECT_EQ(log.TermOrZero(0), 0u);
  EXPECT_EQ(log.TermOf(6).status().code(), StatusCode::kUnavailable);
  auto ents = log.Entries(2, 6, UINT64_MAX);
  ASSERT_TRUE(ents.ok());
  ASSERT_EQ(ents->size(), 4u);
  EXPECT_EQ((*ents)[0].index(), 2u);
  EXPECT_EQ((*ents)[3].index(), 5u);
  // A byte limit of one entry still returns one.
  auto one = log.Entries(2, 6, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto from_unstable = log.Entries(4, 6, 1);
  ASSERT_TRUE(from_unstable.ok());
  EXPECT_EQ(from_unstable->size(), 1u);
}

TEST(RaftLogTest, CopyEntriesToFillsAMessageFromStorageOrUnstable) {
  MemoryStorage s;
  Persist(s, Es({{1, 1}, {2, 1}}));
  RaftLog log(&s, 0, 0);
  log.Append(Es({{3, 2}, {4, 2}, {5, 2}}));
  pb::Message m;
  uint64_t bytes = 0;
  auto n = log.CopyEntriesTo(3, 6, UINT64_MAX, m.mutable_entries(), &bytes);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  ASSERT_EQ(m.entries_size(), 3);
  EXPECT_EQ(m.entries(0).index(), 3u);
  uint64_t expect = 0;
  for (const auto& e : m.entries()) expect += e.ByteSizeLong();
  EXPECT_EQ(bytes, expect);
  pb::Message one;
  bytes = 0;
  n = log.CopyEntriesTo(4, 6, 1, one.mutable_entries(), &bytes);  // at least one
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  pb::Message mixed;
  n = log.CopyEntriesTo(1, 6, UINT64_MAX, mixed.mutable_entries(), &bytes);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(mixed.entries_size(), 5);  // storage then unstable
  EXPECT_EQ(mixed.entries(4).index(), 5u);
}

TEST(RaftLogTest, TruncatesConflictingSuffixIntoStorage) {
  MemoryStorage s;
  Persist(s, Es({{1, 1}, {2, 1}, {3, 1}}));
  RaftLog log(&s, 1, 0);
  log.Append(Es({{2, 2}}));
  EXPECT_EQ(log.LastIndex(), 2u);
  EXPECT_EQ(log.TermOrZero(2), 2u);
  EXPECT_EQ(log.TermOrZero(1), 1u);
  EXPECT_TRUE(log.HasEntriesToPersist());
  auto p = log.TakeEntriesToPersist();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].index(), 2u);
  EXPECT_FALSE(log.HasEntriesToPersist());
}

TEST(RaftLogTest, FindConflict) {
  MemoryStorage s;
  RaftLog log(&s, 0, 0);
  log.Append(Es({{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(log.FindConflict(Rep({})), 0u);
  EXPECT_EQ(log.FindConflict(Rep(Es({{1, 1}, {2, 2}}))), 0u);
  EXPECT_EQ(log.FindConflict(Rep(Es({{2, 2}, {3, 3}, {4, 4}}))), 4u);
  EXPECT_EQ(log.FindConflict(Rep(Es({{2, 2}, {3, 4}}))), 3u);
}

TEST(RaftLogTest, FindConflictByTermSkipsWholeTerms) {
  MemoryStorage s;
  RaftLog log(&s, 0, 0);
  // Terms: 1 1 1 4 4 5 5 5
  log.Append(Es({{1, 1}, {2, 1}, {3, 1}, {4, 4}, {5, 4}, {6, 5}, {7, 5}, {8, 5}}));
  EXPECT_EQ(log.FindConflictByTerm(8, 5), 8u);
  EXPECT_EQ(log.FindConflictByTerm(8, 4), 5u);
  EXPECT_EQ(log.FindConflictByTerm(8, 3), 3u);
  EXPECT_EQ(log.FindConflictByTerm(8, 0), 0u);
  EXPECT_EQ(log.FindConflictByTerm(20, 1), 20u);  // beyond the log: unchanged
}

TEST(RaftLogTest, IsUpToDate) {
  MemoryStorage s;
  RaftLog log(&s, 0, 0);
  log.Append(Es({{1, 1}, {2, 2}}));
  EXPECT_TRUE(log.IsUpToDate(2, 2));
  EXPECT_TRUE(log.IsUpToDate(3, 2));
  EXPECT_TRUE(log.IsUpToDate(1, 3));
  EXPECT_FALSE(log.IsUpToDate(1, 2));
  EXPECT_FALSE(log.IsUpToDate(5, 1));
}

TEST(RaftLogTest, StableToIgnoresReplacedEntries) {
  MemoryStorage s;
  RaftLog log(&s, 0, 0);
  log.Append(Es({{1, 1}, {2, 1}}));
  auto handed = log.TakeEntriesToPersist();
  ASSERT_EQ(handed.size(), 2u);
  log.Append(Es({{2, 2}}));  // replaced before Advance
  Persist(s, handed);
  log.StableTo(2, 1);  // stale: entry 2 is now of term 2
  EXPECT_EQ(log.TermOrZero(2), 2u);
  auto again = log.TakeEntriesToPersist();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].term(), 2u);
  Persist(s, again);
  log.StableTo(2, 2);
  EXPECT_EQ(log.TermOrZero(2), 2u);
  EXPECT_EQ(log.TermOrZero(1), 1u);
  EXPECT_FALSE(log.HasEntriesToPersist());
}

TEST(RaftLogTest, CommittedEntriesHandedOutOnce) {
  MemoryStorage s;
  RaftLog log(&s, 0, 0);
  log.Append(Es({{1, 1}, {2, 1}, {3, 1}}));
  log.CommitTo(2);
  EXPECT_TRUE(log.HasEntriesToApply());
  auto a = log.TakeEntriesToApply(UINT64_MAX);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_FALSE(log.HasEntriesToApply());
  log.CommitTo(1);  // never backwards
  EXPECT_EQ(log.committed(), 2u);
  log.CommitTo(3);
  auto b = log.TakeEntriesToApply(UINT64_MAX);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].index(), 3u);
  log.AppliedTo(3);
  EXPECT_EQ(log.applied(), 3u);
}

TEST(RaftLogTest, RestoreMakesTheLogTheSnapshot) {
  MemoryStorage s;
  Persist(s, Es({{1, 1}, {2, 1}}));
  RaftLog log(&s, 1, 1);
  pb::Snapshot snap;
  snap.mutable_metadata()->set_index(10);
  snap.mutable_metadata()->set_term(3);
  log.Restore(std::move(snap));
  EXPECT_EQ(log.FirstIndex(), 11u);
  EXPECT_EQ(log.LastIndex(), 10u);
  EXPECT_EQ(log.TermOrZero(10), 3u);
  EXPECT_EQ(log.TermOf(2).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_TRUE(log.HasSnapshotToPersist());
  EXPECT_FALSE(log.HasEntriesToApply());
  log.Append(Es({{11, 3}}));
  EXPECT_EQ(log.LastIndex(), 11u);
  EXPECT_EQ(log.Entries(10, 12, 100).status().code(), StatusCode::kCompacted);
}

}  // namespace
}  // namespace coord::raft
