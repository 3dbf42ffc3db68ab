// The snapshot image file on its own: round trip, and every kind of damage is
// reported as kCorruption naming the index and the directory.
#include "storage/snapshot_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "storage_test_util.h"

namespace coord::raft::storage_internal {
namespace {

using ::testing::HasSubstr;
using testing_util::MakeSnapshotMeta;
using testing_util::TempDir;

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = MakeSnapshotMeta(42, 7, {1, 3});
    data_.resize(3 << 20);  // more than one verification chunk
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>(i * 2654435761u >> 24);
    ASSERT_TRUE(WriteSnapshotFile(dir_.path(), meta_, data_, /*sync=*/false).ok());
    path_ = dir_.path() + "/" + SnapshotFileName(42, 7);
  }
  void ExpectCorrupt(const std::string& why) {
    Status s = ReadSnapshotFile(dir_.path(), meta_, nullptr);
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s;
    EXPECT_THAT(s.message(), HasSubstr("corrupt snapshot at index 42 in " + dir_.path()));
    EXPECT_THAT(s.message(), HasSubstr(why));
  }

  TempDir dir_;
  pb::SnapshotMetadata meta_;
  std::string data_;
  std::string path_;
};

TEST_F(SnapshotFileTest, RoundTrip) {
  EXPECT_EQ(SnapshotFileName(42, 7), "snap-000000000000002a-0000000000000007.snap");
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  std::string back;
  ASSERT_TRUE(ReadSnapshotFile(dir_.path(), meta_, &back).ok());
  EXPECT_EQ(back, data_);
  EXPECT_TRUE(ReadSnapshotFile(dir_.path(), meta_, nullptr).ok());
}

TEST_F(SnapshotFileTest, EmptyImageRoundTrips) {
  pb::SnapshotMetadata m = MakeSnapshotMeta(1, 1);
  ASSERT_TRUE(WriteSnapshotFile(dir_.path(), m, "", /*sync=*/true).ok());
  std::string back = "junk";
  ASSERT_TRUE(ReadSnapshotFile(dir_.path(), m, &back).ok());
  EXPECT_TRUE(back.empty());
}

TEST_F(SnapshotFileTest, FlippedDataByteIsCorruption) {
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(2 << 20);
    char c = 0;
    f.get(c);
    f.seekp(2 << 20);
    f.put(static_cast<char>(c ^ 1));
  }
  ExpectCorrupt("checksum mismatch");
  std::string back;
  EXPECT_EQ(ReadSnapshotFile(dir_.path(), meta_, &back).code(), StatusCode::kCorruption);
}

TEST_F(SnapshotFileTest, TruncationIsCorruption) {
  std::filesystem::resize_file(path_, 1000);
  ExpectCorrupt("truncated");
  std::filesystem::resize_file(path_, 10);
  ExpectCorrupt("truncated header");
}

TEST_F(SnapshotFileTest, AppendedGarbageIsCorruption) {
  std::ofstream(path_, std::ios::app | std::ios::binary) << "tail";
  ExpectCorrupt("size mismatch");
}

TEST_F(SnapshotFileTest, BadMagicIsCorruption) {
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.put('X');
  }
  ExpectCorrupt("bad magic");
}

TEST_F(SnapshotFileTest, MetadataMismatchIsCorruption) {
  // A valid file whose metadata disagrees with what the log expects.
  pb::SnapshotMetadata other = MakeSnapshotMeta(42, 7, {1, 2});
  ASSERT_TRUE(WriteSnapshotFile(dir_.path(), other, "x", false).ok());
  ExpectCorrupt("disagrees");
}

TEST_F(SnapshotFileTest, MissingFileIsCorruption) {
  std::filesystem::remove(path_);
  ExpectCorrupt("missing");
}

TEST_F(SnapshotFileTest, StaleFilesAreRemoved) {
  ASSERT_TRUE(WriteSnapshotFile(dir_.path(), MakeSnapshotMeta(50, 8), "new", false).ok());
  std::ofstream(dir_.path() + "/snap-x.snap.tmp") << "partial";
  std::ofstream(dir_.path() + "/unrelated.txt") << "keep me";
  ASSERT_TRUE(RemoveStaleSnapshotFiles(dir_.path(), SnapshotFileName(50, 8)).ok());
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/snap-x.snap.tmp"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/" + SnapshotFileName(50, 8)));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/unrelated.txt"));
}

TEST_F(SnapshotFileTest, UnwritableDirectoryIsIOError) {
  Status s = WriteSnapshotFile(dir_.path() + "/no/such/dir", meta_, "x", true);
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s;
  EXPECT_THAT(s.message(), HasSubstr("/no/such/dir"));
}

}  // namespace
}  // namespace coord::raft::storage_internal
