// The LogStorage contract of storage.h, written once and run against every
// implementation (MemoryStorage and LevelDbStorage), so both honour it alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "coord/consensus/leveldb_storage.h"
#include "coord/consensus/memory_storage.h"
#include "storage_test_util.h"

namespace coord::raft {
namespace {

using ::testing::ElementsAre;
using testing_util::IndexesOf;
using testing_util::MakeEntries;
using testing_util::MakeEntry;
using testing_util::MakeHardState;
using testing_util::MakeSnapshotMeta;
using testing_util::SameEntry;
using testing_util::TempDir;
using testing_util::TermsOf;

struct MemoryFactory {
  std::unique_ptr<LogStorage> Make() { return std::make_unique<MemoryStorage>(); }
};

struct LevelDbFactory {
  TempDir dir;
  std::unique_ptr<LogStorage> Make() {
    LevelDbStorageOptions options;
    options.dir = dir.path() + "/raft";
    options.entry_cache_bytes = 1024;  // small, so reads cross the cache boundary
    Result<std::unique_ptr<LevelDbStorage>> s = LevelDbStorage::Open(options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
};

template <typename Factory>
class StorageConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = factory_.Make();
    ASSERT_NE(storage_, nullptr);
  }

  Status Append(const std::vector<pb::Entry>& entries) {
    PersistBatch batch;
    batch.entries = &entries;
    return storage_->Save(batch);
  }
  Status SetHardState(const pb::HardState& hs) {
    PersistBatch batch;
    batch.hard_state = &hs;
    return storage_->Save(batch);
  }
  std::vector<pb::Entry> All() {
    auto r = storage_->Entries(storage_->FirstIndex(), storage_->LastIndex() + 1, UINT64_MAX);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<pb::Entry>{};
  }

  Factory factory_;
  std::unique_ptr<LogStorage> storage_;
};

using Implementations = ::testing::Types<MemoryFactory, LevelDbFactory>;

class ImplementationNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if (std::is_same_v<T, MemoryFactory>) return "Memory";
    return "LevelDb";
  }
};

TYPED_TEST_SUITE(StorageConformanceTest, Implementations, ImplementationNames);

TYPED_TEST(StorageConformanceTest, FreshStoreIsEmpty) {
  LogStorage& s = *this->storage_;
  EXPECT_EQ(s.FirstIndex(), 1u);
  EXPECT_EQ(s.LastIndex(), 0u);
  Result<Term> t0 = s.TermAt(0);
  ASSERT_TRUE(t0.ok()) << t0.status();
  EXPECT_EQ(*t0, 0u);
  EXPECT_EQ(s.TermAt(1).status().code(), StatusCode::kUnavailable);
  pb::HardState hs = s.HardState();
  EXPECT_EQ(hs.term(), 0u);
  EXPECT_EQ(hs.vote(), 0u);
  EXPECT_EQ(hs.commit(), 0u);
  EXPECT_EQ(s.SnapshotMetadata().index(), 0u);
  EXPECT_EQ(s.GetSnapshot().status().code(), StatusCode::kUnavailable);
  Result<std::vector<pb::Entry>> none = s.Entries(1, 1, UINT64_MAX);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(s.Entries(1, 2, UINT64_MAX).status().code(), StatusCode::kUnavailable);
}

TYPED_TEST(StorageConformanceTest, AppendThenRead) {
  std::vector<pb::Entry> entries = MakeEntries(1, {1, 1, 2, 2, 3});
  ASSERT_TRUE(this->Append(entries).ok());
  LogStorage& s = *this->storage_;
  EXPECT_EQ(s.FirstIndex(), 1u);
  EXPECT_EQ(s.LastIndex(), 5u);
  std::vector<pb::Entry> all = this->All();
  ASSERT_EQ(all.size(), entries.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_TRUE(SameEntry(all[i], entries[i])) << i;
  for (Index i = 1; i <= 5; ++i) EXPECT_EQ(*s.TermAt(i), entries[i - 1].term()) << i;
  Result<std::vector<pb::Entry>> mid = s.Entries(2, 4, UINT64_MAX);
  ASSERT_TRUE(mid.ok());
  EXPECT_THAT(IndexesOf(*mid), ElementsAre(2, 3));

  // A later batch extends the log without touching it.
  ASSERT_TRUE(this->Append(MakeEntries(6, {3, 4})).ok());
  EXPECT_EQ(s.LastIndex(), 7u);
  EXPECT_THAT(TermsOf(this->All()), ElementsAre(1, 1, 2, 2, 3, 3, 4));
}

TYPED_TEST(StorageConformanceTest, TruncatesConflictingSuffix) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 1, 1, 1})).ok());
  // A new leader's entries replace everything from index 3 on.
  ASSERT_TRUE(this->Append(MakeEntries(3, {2, 2})).ok());
  LogStorage& s = *this->storage_;
  EXPECT_EQ(s.LastIndex(), 4u);
  EXPECT_THAT(TermsOf(this->All()), ElementsAre(1, 1, 2, 2));
  EXPECT_EQ(s.TermAt(5).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.Entries(1, 6, UINT64_MAX).status().code(), StatusCode::kUnavailable);
  // Replacing with a longer suffix works too.
  ASSERT_TRUE(this->Append(MakeEntries(2, {3, 3, 3, 3, 3, 3})).ok());
  EXPECT_EQ(s.LastIndex(), 7u);
  EXPECT_THAT(TermsOf(this->All()), ElementsAre(1, 3, 3, 3, 3, 3, 3));
}

TYPED_TEST(StorageConformanceTest, RejectsGapsAndNonContiguousEntries) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 1})).ok());
  EXPECT_EQ(this->Append(MakeEntries(5, {1})).code(), StatusCode::kInvalidArgument);
  std::vector<pb::Entry> holes = {MakeEntry(4, 1), MakeEntry(6, 1)};
  EXPECT_EQ(this->Append(holes).code(), StatusCode::kInvalidArgument);
  // A rejected batch changes nothing.
  EXPECT_EQ(this->storage_->LastIndex(), 3u);
  EXPECT_THAT(TermsOf(this->All()), ElementsAre(1, 1, 1));
  EXPECT_TRUE(this->Append(MakeEntries(4, {1})).ok());
}

TYPED_TEST(StorageConformanceTest, HardStateIsSavedLast) {
  ASSERT_TRUE(this->SetHardState(MakeHardState(3, 2, 0)).ok());
  EXPECT_EQ(this->storage_->HardState().term(), 3u);
  EXPECT_EQ(this->storage_->HardState().vote(), 2u);
  // Entries and hard state in one batch.
  std::vector<pb::Entry> entries = MakeEntries(1, {3, 3});
  pb::HardState hs = MakeHardState(3, 2, 2);
  PersistBatch batch;
  batch.entries = &entries;
  batch.hard_state = &hs;
  ASSERT_TRUE(this->storage_->Save(batch).ok());
  EXPECT_EQ(this->storage_->HardState().commit(), 2u);
  EXPECT_EQ(this->storage_->LastIndex(), 2u);
  // A batch without a hard state leaves it alone.
  ASSERT_TRUE(this->Append(MakeEntries(3, {3})).ok());
  EXPECT_EQ(this->storage_->HardState().term(), 3u);
  EXPECT_EQ(this->storage_->HardState().commit(), 2u);
}

TYPED_TEST(StorageConformanceTest, EntriesHonourMaxBytesButReturnAtLeastOne) {
  std::vector<pb::Entry> entries;
  for (Index i = 1; i <= 10; ++i) entries.push_back(MakeEntry(i, 1, std::string(100, 'x')));
  ASSERT_TRUE(this->Append(entries).ok());
  const uint64_t one = entries[0].ByteSizeLong();
  LogStorage& s = *this->storage_;
  auto count = [&](Index lo, Index hi, uint64_t max_bytes) -> size_t {
    auto r = s.Entries(lo, hi, max_bytes);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->size() : 0;
  };
  EXPECT_EQ(count(1, 11, 0), 1u);  // at least one, even over the limit
  EXPECT_EQ(count(1, 11, one - 1), 1u);
  EXPECT_EQ(count(1, 11, one), 1u);
  EXPECT_EQ(count(1, 11, 2 * one), 2u);
  EXPECT_EQ(count(1, 11, 2 * one + 1), 2u);
  EXPECT_EQ(count(1, 11, 3 * one), 3u);
  EXPECT_EQ(count(4, 11, 5 * one), 5u);
  EXPECT_EQ(count(1, 11, UINT64_MAX), 10u);
  EXPECT_EQ(count(1, 4, UINT64_MAX), 3u);
  auto r = s.Entries(7, 11, 2 * one);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(IndexesOf(*r), ElementsAre(7, 8));
}

TYPED_TEST(StorageConformanceTest, ErrorCodesAtBothEnds) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 2, 2, 2, 3, 3, 3, 3, 3})).ok());
  ASSERT_TRUE(this->SetHardState(MakeHardState(3, 1, 8)).ok());
  ASSERT_TRUE(this->storage_->CreateSnapshot(MakeSnapshotMeta(6, 3), "image", 2).ok());
  LogStorage& s = *this->storage_;
  ASSERT_EQ(s.FirstIndex(), 5u);
  ASSERT_EQ(s.LastIndex(), 10u);
  // Low end.
  EXPECT_EQ(s.Entries(4, 6, UINT64_MAX).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.Entries(1, 2, UINT64_MAX).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.TermAt(3).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.TermAt(0).status().code(), StatusCode::kCompacted);
  Result<Term> at_compaction_point = s.TermAt(4);  // FirstIndex() - 1 is still known
  ASSERT_TRUE(at_compaction_point.ok()) << at_compaction_point.status();
  EXPECT_EQ(*at_compaction_point, 2u);
  EXPECT_TRUE(s.Entries(5, 6, UINT64_MAX).ok());
  // High end.
  EXPECT_EQ(s.Entries(5, 12, UINT64_MAX).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.TermAt(11).status().code(), StatusCode::kUnavailable);
  Result<std::vector<pb::Entry>> tail = s.Entries(5, 11, UINT64_MAX);
  ASSERT_TRUE(tail.ok());
  EXPECT_THAT(IndexesOf(*tail), ElementsAre(5, 6, 7, 8, 9, 10));
  Result<std::vector<pb::Entry>> empty_end = s.Entries(11, 11, UINT64_MAX);
  ASSERT_TRUE(empty_end.ok());
  EXPECT_TRUE(empty_end->empty());
}

TYPED_TEST(StorageConformanceTest, CreateSnapshotKeepsATailOfEntries) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 1, 2, 2, 2, 2, 3, 3, 3})).ok());
  ASSERT_TRUE(this->SetHardState(MakeHardState(3, 1, 9)).ok());
  LogStorage& s = *this->storage_;
  ASSERT_TRUE(s.CreateSnapshot(MakeSnapshotMeta(8, 3), "state@8", 3).ok());
  EXPECT_EQ(s.FirstIndex(), 6u);  // entries <= 8 - 3 are gone
  EXPECT_EQ(s.LastIndex(), 10u);
  EXPECT_EQ(*s.TermAt(5), 2u);
  EXPECT_EQ(s.SnapshotMetadata().index(), 8u);
  EXPECT_EQ(s.SnapshotMetadata().term(), 3u);
  Result<pb::Snapshot> snap = s.GetSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->data(), "state@8");
  EXPECT_EQ(snap->metadata().index(), 8u);
  EXPECT_THAT(snap->metadata().conf_state().voters(), ElementsAre(1, 2, 3));
  EXPECT_THAT(TermsOf(this->All()), ElementsAre(2, 2, 3, 3, 3));

  // A newer snapshot without a tail compacts through its index.
  ASSERT_TRUE(s.CreateSnapshot(MakeSnapshotMeta(9, 3), "state@9", 0).ok());
  EXPECT_EQ(s.FirstIndex(), 10u);
  EXPECT_EQ(s.LastIndex(), 10u);
  EXPECT_EQ(*s.TermAt(9), 3u);
  EXPECT_EQ(s.GetSnapshot()->data(), "state@9");

  // keep_entries larger than the log compacts nothing.
  ASSERT_TRUE(this->Append(MakeEntries(11, {3, 3})).ok());
  ASSERT_TRUE(this->SetHardState(MakeHardState(3, 1, 12)).ok());
  ASSERT_TRUE(s.CreateSnapshot(MakeSnapshotMeta(12, 3), "state@12", 100).ok());
  EXPECT_EQ(s.FirstIndex(), 10u);
  EXPECT_EQ(s.SnapshotMetadata().index(), 12u);
}

TYPED_TEST(StorageConformanceTest, CreateSnapshotRejectsBadMetadata) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 2, 2, 2})).ok());
  ASSERT_TRUE(this->SetHardState(MakeHardState(2, 1, 4)).ok());
  LogStorage& s = *this->storage_;
  // Beyond the commit index.
  EXPECT_EQ(s.CreateSnapshot(MakeSnapshotMeta(5, 2), "x", 0).code(), StatusCode::kInvalidArgument);
  // Term disagrees with the log.
  EXPECT_EQ(s.CreateSnapshot(MakeSnapshotMeta(3, 1), "x", 0).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(s.CreateSnapshot(MakeSnapshotMeta(4, 2), "x", 1).ok());
  // Older than the current snapshot.
  EXPECT_EQ(s.CreateSnapshot(MakeSnapshotMeta(3, 2), "y", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.SnapshotMetadata().index(), 4u);
  EXPECT_EQ(s.GetSnapshot()->data(), "x");
  EXPECT_EQ(s.FirstIndex(), 4u);
}

TYPED_TEST(StorageConformanceTest, SavedSnapshotResetsTheLog) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 1, 1, 1})).ok());
  LogStorage& s = *this->storage_;
  pb::Snapshot snap;
  *snap.mutable_metadata() = MakeSnapshotMeta(20, 4, {1, 2});
  snap.set_data("leader state");
  pb::HardState hs = MakeHardState(4, 0, 20);
  PersistBatch batch;
  batch.snapshot = &snap;
  batch.hard_state = &hs;
  ASSERT_TRUE(s.Save(batch).ok());
  EXPECT_EQ(s.FirstIndex(), 21u);
  EXPECT_EQ(s.LastIndex(), 20u);
  EXPECT_EQ(*s.TermAt(20), 4u);
  EXPECT_EQ(s.TermAt(19).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.Entries(5, 6, UINT64_MAX).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s.HardState().commit(), 20u);
  EXPECT_EQ(s.SnapshotMetadata().index(), 20u);
  Result<pb::Snapshot> got = s.GetSnapshot();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->data(), "leader state");
  EXPECT_THAT(got->metadata().conf_state().voters(), ElementsAre(1, 2));
  // The log continues right after the snapshot.
  ASSERT_TRUE(this->Append(MakeEntries(21, {4, 5})).ok());
  EXPECT_EQ(s.LastIndex(), 22u);
  EXPECT_THAT(TermsOf(this->All()), ElementsAre(4, 5));
}

TYPED_TEST(StorageConformanceTest, SnapshotWithinTheLogAlsoResetsIt) {
  ASSERT_TRUE(this->Append(MakeEntries(1, {1, 1, 1, 1, 1, 1})).ok());
  LogStorage& s = *this->storage_;
  pb::Snapshot snap;
  *snap.mutable_metadata() = MakeSnapshotMeta(3, 1);
  snap.set_data("s3");
  std::vector<pb::Entry> after = MakeEntries(4, {2});
  PersistBatch batch;
  batch.snapshot = &snap;
  batch.entries = &after;  // applied after the snapshot, in the same batch
  ASSERT_TRUE(s.Save(batch).ok());
  EXPECT_EQ(s.FirstIndex(), 4u);
  EXPECT_EQ(s.LastIndex(), 4u);
  EXPECT_EQ(*s.TermAt(3), 1u);
  EXPECT_EQ(*s.TermAt(4), 2u);
  // An older snapshot is refused and changes nothing.
  pb::Snapshot old;
  *old.mutable_metadata() = MakeSnapshotMeta(2, 1);
  PersistBatch stale;
  stale.snapshot = &old;
  EXPECT_EQ(s.Save(stale).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.SnapshotMetadata().index(), 3u);
  EXPECT_EQ(s.LastIndex(), 4u);
}

TYPED_TEST(StorageConformanceTest, EntriesAfterCompactionStartAtFirstIndex) {
  std::vector<pb::Entry> entries;
  for (Index i = 1; i <= 50; ++i) entries.push_back(MakeEntry(i, 1 + i / 10, std::string(40, 'y')));
  ASSERT_TRUE(this->Append(entries).ok());
  ASSERT_TRUE(this->SetHardState(MakeHardState(6, 1, 50)).ok());
  LogStorage& s = *this->storage_;
  ASSERT_TRUE(s.CreateSnapshot(MakeSnapshotMeta(30, *s.TermAt(30)), "s", 5).ok());
  EXPECT_EQ(s.FirstIndex(), 26u);
  std::vector<pb::Entry> all = this->All();
  ASSERT_EQ(all.size(), 25u);
  for (size_t k = 0; k < all.size(); ++k) EXPECT_TRUE(SameEntry(all[k], entries[25 + k])) << k;
  for (Index i = 25; i <= 50; ++i) EXPECT_EQ(*s.TermAt(i), 1 + i / 10) << i;
}

}  // namespace
}  // namespace coord::raft
