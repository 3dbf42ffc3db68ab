// LevelDbStorage beyond the shared contract: durability across reopen, detection
// of corrupted or missing records and snapshot files, exclusive opening.
#include "coord/consensus/leveldb_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "storage/coding.h"
#include "storage/snapshot_file.h"
#include "storage_test_util.h"

namespace coord::raft {
namespace {

using storage_internal::EntryKey;
using storage_internal::FrameRecord;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::IndexesOf;
using testing_util::MakeEntries;
using testing_util::MakeEntry;
using testing_util::MakeHardState;
using testing_util::MakeSnapshotMeta;
using testing_util::SameEntry;
using testing_util::TempDir;
using testing_util::TermsOf;

class LevelDbStorageTest : public ::testing::Test {
 protected:
  LevelDbStorageOptions Options() const {
    LevelDbStorageOptions o;
    o.dir = dir_.path() + "/raft";
    return o;
  }

  std::unique_ptr<LevelDbStorage> OpenOrDie(LevelDbStorageOptions o) {
    Result<std::unique_ptr<LevelDbStorage>> s = LevelDbStorage::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<LevelDbStorage> OpenOrDie() { return OpenOrDie(Options()); }

  Status OpenStatus() { return LevelDbStorage::Open(Options()).status(); }

  static Status Append(LogStorage& s, const std::vector<pb::Entry>& entries,
                       const pb::HardState* hs = nullptr) {
    PersistBatch batch;
    batch.entries = &entries;
    batch.hard_state = hs;
    return s.Save(batch);
  }

  // Writes a store with entries 1..10 (terms 1,1,2,2,2,3,3,3,3,3), commit 10.
  void WriteTenEntries() {
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    pb::HardState hs = MakeHardState(3, 2, 10);
    ASSERT_TRUE(Append(*s, MakeEntries(1, {1, 1, 2, 2, 2, 3, 3, 3, 3, 3}), &hs).ok());
  }

  // Runs `edit` on the store's LevelDB database directly (the storage closed).
  template <typename Fn>
  void EditDb(Fn edit) {
    leveldb::DB* raw = nullptr;
    leveldb::Options o;
    o.create_if_missing = true;
    leveldb::Status st = leveldb::DB::Open(o, Options().dir, &raw);
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::unique_ptr<leveldb::DB> db(raw);
    edit(db.get());
  }

  std::string SnapshotPath(Index index, Term term) const {
    return Options().dir + "/" + storage_internal::SnapshotFileName(index, term);
  }

  void ExpectCorruption(const std::string& what) {
    Status s = OpenStatus();
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s;
    EXPECT_THAT(s.message(), HasSubstr(what)) << s;
    EXPECT_THAT(s.message(), HasSubstr(Options().dir)) << s;
  }

  TempDir dir_;
};

TEST_F(LevelDbStorageTest, ReopenKeepsEverything) {
  std::vector<pb::Entry> entries;
  for (Index i = 1; i <= 40; ++i) {
    entries.push_back(MakeEntry(i, 1 + i / 10, "payload-" + std::to_string(i * 7)));
  }
  entries[5].set_type(pb::ENTRY_CONF_CHANGE);
  {
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    pb::HardState hs = MakeHardState(5, 3, 35);
    ASSERT_TRUE(Append(*s, entries, &hs).ok());
    ASSERT_TRUE(s->CreateSnapshot(MakeSnapshotMeta(30, 4, {1, 2, 3}), "image@30", 10).ok());
  }
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->FirstIndex(), 21u);
  EXPECT_EQ(s->LastIndex(), 40u);
  EXPECT_EQ(*s->TermAt(20), 3u);  // the term at the compaction point survives
  EXPECT_EQ(s->TermAt(19).status().code(), StatusCode::kCompacted);
  EXPECT_EQ(s->HardState().term(), 5u);
  EXPECT_EQ(s->HardState().vote(), 3u);
  EXPECT_EQ(s->HardState().commit(), 35u);
  EXPECT_EQ(s->SnapshotMetadata().index(), 30u);
  Result<pb::Snapshot> snap = s->GetSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->data(), "image@30");
  EXPECT_EQ(snap->metadata().term(), 4u);
  EXPECT_THAT(snap->metadata().conf_state().voters(), ElementsAre(1, 2, 3));
  Result<std::vector<pb::Entry>> got = s->Entries(21, 41, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 20u);
  for (size_t k = 0; k < got->size(); ++k) EXPECT_TRUE(SameEntry((*got)[k], entries[20 + k]));
  for (Index i = 20; i <= 40; ++i) EXPECT_EQ(*s->TermAt(i), 1 + i / 10) << i;
  // And it keeps working after reopen.
  ASSERT_TRUE(Append(*s, MakeEntries(41, {5})).ok());
  EXPECT_EQ(s->LastIndex(), 41u);
}

TEST_F(LevelDbStorageTest, ReopenAfterTruncationAndReceivedSnapshot) {
  {
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(Append(*s, MakeEntries(1, {1, 1, 1, 1, 1, 1})).ok());
    ASSERT_TRUE(Append(*s, MakeEntries(3, {2})).ok());  // truncates 4..6
  }
  {
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->LastIndex(), 3u);
    EXPECT_THAT(TermsOf(*s->Entries(1, 4, UINT64_MAX)), ElementsAre(1, 1, 2));
    pb::Snapshot snap;
    *snap.mutable_metadata() = MakeSnapshotMeta(100, 7);
    snap.set_data(std::string(3000, 'z'));
    pb::HardState hs = MakeHardState(7, 0, 100);
    std::vector<pb::Entry> after = MakeEntries(101, {7, 7});
    PersistBatch batch;
    batch.snapshot = &snap;
    batch.entries = &after;
    batch.hard_state = &hs;
    ASSERT_TRUE(s->Save(batch).ok());
  }
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->FirstIndex(), 101u);
  EXPECT_EQ(s->LastIndex(), 102u);
  EXPECT_EQ(*s->TermAt(100), 7u);
  EXPECT_EQ(s->GetSnapshot()->data(), std::string(3000, 'z'));
  EXPECT_EQ(s->HardState().commit(), 100u);
}

TEST_F(LevelDbStorageTest, EntryCacheIsBoundedAndReadsCrossIntoLevelDb) {
  LevelDbStorageOptions o = Options();
  o.entry_cache_bytes = 2000;
  auto s = OpenOrDie(o);
  ASSERT_NE(s, nullptr);
  std::vector<pb::Entry> entries;
  for (Index i = 1; i <= 200; ++i) entries.push_back(MakeEntry(i, 1, std::string(50, 'a')));
  for (size_t k = 0; k < entries.size(); k += 20) {
    std::vector<pb::Entry> chunk(entries.begin() + k, entries.begin() + k + 20);
    ASSERT_TRUE(Append(*s, chunk).ok());
  }
  EXPECT_GT(s->TEST_EntryCacheBytes(), 0u);
  EXPECT_LE(s->TEST_EntryCacheBytes(), 2000u);
  Result<std::vector<pb::Entry>> all = s->Entries(1, 201, UINT64_MAX);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 200u);
  for (size_t k = 0; k < 200; ++k) EXPECT_TRUE(SameEntry((*all)[k], entries[k])) << k;
  // A conflicting suffix replaces cached entries too.
  ASSERT_TRUE(Append(*s, MakeEntries(190, {2})).ok());
  Result<std::vector<pb::Entry>> tail = s->Entries(185, 191, UINT64_MAX);
  ASSERT_TRUE(tail.ok());
  EXPECT_THAT(TermsOf(*tail), ElementsAre(1, 1, 1, 1, 1, 2));
}

TEST_F(LevelDbStorageTest, SaveRejectsDecreasingTermsAndStaysUsable) {
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(Append(*s, MakeEntries(1, {2, 2})).ok());
  EXPECT_EQ(Append(*s, MakeEntries(3, {1})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Append(*s, MakeEntries(3, {3, 2})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Append(*s, MakeEntries(0, {3})).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Append(*s, MakeEntries(3, {2})).ok());
  EXPECT_EQ(s->LastIndex(), 3u);
}

TEST_F(LevelDbStorageTest, FlippedByteInEntryIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) {
    std::string value;
    ASSERT_TRUE(db->Get({}, EntryKey(4), &value).ok());
    value[value.size() - 1] ^= 0x20;  // inside the serialized entry's data
    ASSERT_TRUE(db->Put({}, EntryKey(4), value).ok());
  });
  ExpectCorruption("corrupt raft log entry at index 4 in ");
  ExpectCorruption("checksum mismatch");
}

TEST_F(LevelDbStorageTest, EntryWithWrongIndexIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) {
    // A valid record copied under the wrong key.
    ASSERT_TRUE(db->Put({}, EntryKey(6), FrameRecord(MakeEntry(7, 3).SerializeAsString())).ok());
  });
  ExpectCorruption("at index 6");
  ExpectCorruption("records index 7");
}

TEST_F(LevelDbStorageTest, UndecodableEntryIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) {
    ASSERT_TRUE(db->Put({}, EntryKey(2), FrameRecord("\xff\xff\xff\xff\xff")).ok());
  });
  ExpectCorruption("at index 2");
  ExpectCorruption("undecodable");
}

TEST_F(LevelDbStorageTest, TruncatedRecordIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) { ASSERT_TRUE(db->Put({}, EntryKey(9), "ab").ok()); });
  ExpectCorruption("at index 9");
  ExpectCorruption("too short");
}

TEST_F(LevelDbStorageTest, DecreasingTermIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) {
    ASSERT_TRUE(db->Put({}, EntryKey(7), FrameRecord(MakeEntry(7, 1).SerializeAsString())).ok());
  });
  ExpectCorruption("at index 7");
  ExpectCorruption("lower than term 3");
}

TEST_F(LevelDbStorageTest, MissingEntryInTheMiddleIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) { ASSERT_TRUE(db->Delete({}, EntryKey(5)).ok()); });
  ExpectCorruption("corrupt raft log entry at index 5 in ");
  ExpectCorruption("missing");
}

TEST_F(LevelDbStorageTest, MissingFirstEntryIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) { ASSERT_TRUE(db->Delete({}, EntryKey(1)).ok()); });
  ExpectCorruption("at index 1 ");
}

TEST_F(LevelDbStorageTest, MissingCommittedTailIsCorruption) {
  WriteTenEntries();  // commit 10
  EditDb([](leveldb::DB* db) { ASSERT_TRUE(db->Delete({}, EntryKey(10)).ok()); });
  ExpectCorruption("commit index 10 is beyond the last index 9");
}

TEST_F(LevelDbStorageTest, GarbledHardStateIsCorruption) {
  WriteTenEntries();
  EditDb([](leveldb::DB* db) {
    std::string value;
    ASSERT_TRUE(db->Get({}, storage_internal::kHardStateKey, &value).ok());
    value[5] ^= 0x01;
    ASSERT_TRUE(db->Put({}, storage_internal::kHardStateKey, value).ok());
  });
  ExpectCorruption("corrupt hard state record");
}

class LevelDbSnapshotFileTest : public LevelDbStorageTest {
 protected:
  // A store with entries 1..10 and a snapshot at index 8 (term 3).
  void SetUp() override {
    WriteTenEntries();
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->CreateSnapshot(MakeSnapshotMeta(8, 3), std::string(5000, 's'), 2).ok());
    path_ = SnapshotPath(8, 3);
    ASSERT_TRUE(std::filesystem::exists(path_));
  }
  std::string path_;
};

TEST_F(LevelDbSnapshotFileTest, IntactFileOpens) {
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->GetSnapshot()->data(), std::string(5000, 's'));
}

TEST_F(LevelDbSnapshotFileTest, TruncatedFileIsCorruption) {
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - 100);
  ExpectCorruption("corrupt snapshot at index 8 in ");
  ExpectCorruption("truncated");
}

TEST_F(LevelDbSnapshotFileTest, GarbledFileIsCorruption) {
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2000);
    f.put('!');
  }
  ExpectCorruption("corrupt snapshot at index 8 in ");
  ExpectCorruption("checksum mismatch");
}

TEST_F(LevelDbSnapshotFileTest, GarbledHeaderIsCorruption) {
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(17);  // inside the data length
    f.put('\x7f');
  }
  ExpectCorruption("corrupt snapshot at index 8 in ");
  ExpectCorruption("header checksum mismatch");
}

TEST_F(LevelDbSnapshotFileTest, MissingFileIsCorruption) {
  std::filesystem::remove(path_);
  ExpectCorruption("corrupt snapshot at index 8 in ");
  ExpectCorruption("missing");
}

TEST_F(LevelDbSnapshotFileTest, GetSnapshotDetectsLaterDamage) {
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  std::filesystem::resize_file(path_, 40);
  Result<pb::Snapshot> snap = s->GetSnapshot();
  EXPECT_EQ(snap.status().code(), StatusCode::kCorruption) << snap.status();
}

TEST_F(LevelDbSnapshotFileTest, OnlyTheCurrentImageIsKept) {
  {
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->CreateSnapshot(MakeSnapshotMeta(10, 3), "newer", 0).ok());
  }
  // A crash leftover: a half-written temp file.
  std::ofstream(Options().dir + "/" + storage_internal::SnapshotFileName(11, 3) + ".tmp") << "x";
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  std::vector<std::string> snaps;
  for (const auto& e : std::filesystem::directory_iterator(Options().dir)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("snap-")) snaps.push_back(name);
  }
  EXPECT_THAT(snaps, ElementsAre(storage_internal::SnapshotFileName(10, 3)));
  EXPECT_EQ(s->GetSnapshot()->data(), "newer");
}

TEST_F(LevelDbStorageTest, SecondOpenOfTheSameDirectoryFails) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  Status s = OpenStatus();
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s;
  EXPECT_THAT(s.message(), HasSubstr("in use"));
  EXPECT_THAT(s.message(), HasSubstr(Options().dir));
  first.reset();
  EXPECT_TRUE(OpenStatus().ok());
}

TEST_F(LevelDbStorageTest, OpenFromAnotherProcessFails) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: only the calling thread exists; report through the exit status.
    Status s = LevelDbStorage::Open(Options()).status();
    bool clear = s.code() == StatusCode::kIOError &&
                 s.message().find("in use") != std::string::npos &&
                 s.message().find(Options().dir) != std::string::npos;
    ::_exit(s.ok() ? 1 : clear ? 0 : 2);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "1: the second open succeeded; 2: unclear error";
}

TEST_F(LevelDbStorageTest, WriteFailureIsStickyAndLeavesStateUnchanged) {
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(Append(*s, MakeEntries(1, {1, 1})).ok());
  // A directory where the snapshot's temp file must go makes its creation fail.
  std::filesystem::create_directory(SnapshotPath(5, 2) + ".tmp");
  pb::Snapshot snap;
  *snap.mutable_metadata() = MakeSnapshotMeta(5, 2);
  PersistBatch batch;
  batch.snapshot = &snap;
  Status failed = s->Save(batch);
  EXPECT_EQ(failed.code(), StatusCode::kIOError) << failed;
  EXPECT_THAT(failed.message(), HasSubstr(Options().dir));
  EXPECT_EQ(s->LastIndex(), 2u);
  EXPECT_EQ(s->SnapshotMetadata().index(), 0u);
  // The storage is failed: later writes return the first error.
  EXPECT_EQ(Append(*s, MakeEntries(3, {1})), failed);
  EXPECT_EQ(s->LastIndex(), 2u);
  // Reads still work on the last durable state.
  EXPECT_EQ(s->Entries(1, 3, UINT64_MAX)->size(), 2u);
}

TEST_F(LevelDbStorageTest, UnsyncedSavesSurviveACleanClose) {
  {
    auto s = OpenOrDie();
    ASSERT_NE(s, nullptr);
    std::vector<pb::Entry> entries = MakeEntries(1, {1, 2, 3});
    pb::HardState hs = MakeHardState(3, 1, 2);
    PersistBatch batch;
    batch.entries = &entries;
    batch.hard_state = &hs;
    batch.sync = false;
    ASSERT_TRUE(s->Save(batch).ok());
  }
  auto s = OpenOrDie();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->LastIndex(), 3u);
  EXPECT_EQ(s->HardState().commit(), 2u);
}

TEST_F(LevelDbStorageTest, MissingStoreWithoutCreateIfMissingIsNotFound) {
  LevelDbStorageOptions o = Options();
  o.create_if_missing = false;
  Status s = LevelDbStorage::Open(o).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr(o.dir));
}

TEST_F(LevelDbStorageTest, BadOptionsAreInvalidArgument) {
  LevelDbStorageOptions o;
  EXPECT_EQ(LevelDbStorage::Open(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.write_buffer_bytes = 10;
  EXPECT_EQ(LevelDbStorage::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LevelDbStorageTest, ForeignDatabaseIsRejected) {
  EditDb([](leveldb::DB* db) { ASSERT_TRUE(db->Put({}, "other", "data").ok()); });
  Status s = OpenStatus();
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s;
  EXPECT_THAT(s.message(), HasSubstr("no format version"));
}

}  // namespace
}  // namespace coord::raft
