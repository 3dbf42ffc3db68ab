// Unit tests of LevelDbStorage's pure helpers: CRC32C, key and record coding,
// the term index, the entry cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/coding.h"
#include "storage/crc32c.h"
#include "storage/entry_cache.h"
#include "storage/term_index.h"
#include "storage_test_util.h"

namespace coord::raft::storage_internal {
namespace {

using ::testing::HasSubstr;
using testing_util::MakeEntries;
using testing_util::MakeEntry;

TEST(Crc32cTest, KnownVectors) {
  // Check values of CRC-32C (RFC 3720 B.4 and the common "123456789" check).
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 131 + 7));
  for (size_t split : {0u, 1u, 3u, 4u, 5u, 500u, 999u, 1000u}) {
    uint32_t part = Crc32cExtend(0, data.data(), split);
    EXPECT_EQ(Crc32cExtend(part, data.data() + split, data.size() - split), Crc32c(data)) << split;
  }
}

TEST(CodingTest, EntryKeysSortInIndexOrder) {
  std::vector<Index> indexes = {0, 1, 2, 255, 256, 65535, 65536, 1ull << 40, ~0ull};
  for (size_t k = 1; k < indexes.size(); ++k) {
    EXPECT_LT(EntryKey(indexes[k - 1]), EntryKey(indexes[k])) << indexes[k];
  }
  for (Index i : indexes) {
    std::optional<Index> back = DecodeEntryKey(EntryKey(i));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, i);
  }
  EXPECT_FALSE(DecodeEntryKey("e1234").has_value());
  EXPECT_FALSE(DecodeEntryKey(std::string("h") + std::string(8, '\0')).has_value());
}

TEST(CodingTest, RecordsDetectDamage) {
  std::string record = FrameRecord("hello raft");
  std::string why;
  std::optional<std::string_view> payload = UnframeRecord(record, &why);
  ASSERT_TRUE(payload.has_value()) << why;
  EXPECT_EQ(*payload, "hello raft");
  for (size_t k = 0; k < record.size(); ++k) {
    std::string bad = record;
    bad[k] ^= 0x04;
    EXPECT_FALSE(UnframeRecord(bad, &why).has_value()) << k;
    EXPECT_EQ(why, "checksum mismatch");
  }
  EXPECT_FALSE(UnframeRecord("abc", &why).has_value());
  EXPECT_THAT(why, HasSubstr("too short"));
}

TEST(CodingTest, FirstIndexRoundTrip) {
  std::optional<FirstIndexRecord> r = DecodeFirstIndex(EncodeFirstIndex({1234567, 89}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first_index, 1234567u);
  EXPECT_EQ(r->prev_term, 89u);
  EXPECT_FALSE(DecodeFirstIndex("short").has_value());
  EXPECT_FALSE(DecodeFirstIndex(EncodeFirstIndex({0, 0})).has_value());
}

TEST(TermIndexTest, RunsAnswerTermOf) {
  TermIndex t;
  EXPECT_FALSE(t.TermOf(1).has_value());
  Term terms[] = {1, 1, 1, 2, 2, 5, 5, 5, 5, 6};
  for (Index i = 1; i <= 10; ++i) t.Append(i, terms[i - 1]);
  EXPECT_EQ(t.RunCount(), 4u);
  for (Index i = 1; i <= 10; ++i) EXPECT_EQ(t.TermOf(i).value_or(0), terms[i - 1]) << i;
  EXPECT_FALSE(t.TermOf(0).has_value());
  EXPECT_FALSE(t.TermOf(11).has_value());

  t.TruncateFrom(7);
  EXPECT_EQ(t.LastIndex(), 6u);
  EXPECT_FALSE(t.TermOf(7).has_value());
  t.Append(7, 7);
  EXPECT_EQ(t.TermOf(7).value_or(0), 7u);
  EXPECT_EQ(t.TermOf(6).value_or(0), 5u);

  t.CompactTo(5);
  EXPECT_EQ(t.FirstIndex(), 5u);
  EXPECT_FALSE(t.TermOf(4).has_value());
  EXPECT_EQ(t.TermOf(5).value_or(0), 2u);
  EXPECT_EQ(t.TermOf(6).value_or(0), 5u);
  EXPECT_EQ(t.RunCount(), 3u);

  t.CompactTo(8);  // beyond the last index: empty
  EXPECT_TRUE(t.empty());
  t.Append(20, 9);
  EXPECT_EQ(t.TermOf(20).value_or(0), 9u);
  t.TruncateFrom(20);
  EXPECT_TRUE(t.empty());
}

TEST(EntryCacheTest, KeepsASuffixWithinBudget) {
  const uint64_t one = MakeEntry(1, 1, std::string(20, 'q')).ByteSizeLong();
  EntryCache cache(3 * one);
  std::vector<pb::Entry> batch;
  for (Index i = 1; i <= 5; ++i) batch.push_back(MakeEntry(i, 1, std::string(20, 'q')));
  cache.Append(batch);
  EXPECT_EQ(cache.FirstIndex(), 3u);
  EXPECT_EQ(cache.LastIndex(), 5u);
  EXPECT_LE(cache.bytes(), 3 * one);
  EXPECT_EQ(cache.Get(2), nullptr);
  ASSERT_NE(cache.Get(4), nullptr);
  EXPECT_EQ(cache.Get(4)->index(), 4u);

  // A conflicting suffix replaces the cached tail.
  cache.Append({MakeEntry(5, 2, std::string(20, 'r'))});
  EXPECT_EQ(cache.LastIndex(), 5u);
  EXPECT_EQ(cache.Get(5)->term(), 2u);
  EXPECT_EQ(cache.FirstIndex(), 3u);

  // Replacing from before the cached range empties the old part.
  cache.Append({MakeEntry(2, 3, std::string(20, 's'))});
  EXPECT_EQ(cache.FirstIndex(), 2u);
  EXPECT_EQ(cache.LastIndex(), 2u);

  // A gap (the log was reset by a snapshot) drops the stale entries.
  cache.Append(MakeEntries(50, {4}));
  EXPECT_EQ(cache.FirstIndex(), 50u);
  EXPECT_EQ(cache.size(), 1u);

  cache.CompactTo(51);
  EXPECT_TRUE(cache.empty());
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(EntryCacheTest, ZeroBudgetCachesNothing) {
  EntryCache cache(0);
  cache.Append(MakeEntries(1, {1, 1}));
  EXPECT_TRUE(cache.empty());
  EntryCache small(1);
  small.Append(MakeEntries(1, {1, 1}));  // each entry alone exceeds the budget
  EXPECT_TRUE(small.empty());
}

}  // namespace
}  // namespace coord::raft::storage_internal
