// Keys: revisions and versions, ranges, deletes, sequential keys, limits.
#include <gtest/gtest.h>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

TEST(KvTest, RevisionsAndVersions) {
  Driver d;
  EXPECT_EQ(d.sm.revision(), 0);
  ApplyResult r1 = d.Apply(PutCmd("/a", "1"));
  ASSERT_EQ(r1.response.error().code(), pb::OK);
  EXPECT_EQ(r1.response.put().revision(), 1);
  EXPECT_EQ(r1.response.header().revision(), 1);
  d.Apply(PutCmd("/b", "x"));
  ApplyResult r3 = d.Apply(PutCmd("/a", "2", 0, /*prev_kv=*/true));
  EXPECT_EQ(r3.response.put().revision(), 3);
  EXPECT_EQ(r3.response.put().prev_kv().value(), "1");
  EXPECT_EQ(r3.response.put().prev_kv().mod_revision(), 1);

  pb::Response got = d.sm.Range(RangeReq("/a"));
  ASSERT_EQ(got.range().kvs_size(), 1);
  pb::KeyValue kv = got.range().kvs(0);
  EXPECT_EQ(kv.value(), "2");
  EXPECT_EQ(kv.create_revision(), 1);
  EXPECT_EQ(kv.mod_revision(), 3);
  EXPECT_EQ(kv.version(), 2);
  EXPECT_EQ(got.header().revision(), 3);

  // Delete then re-create: a new life with version 1.
  ApplyResult del = d.Apply(DeleteCmd("/a"));
  EXPECT_EQ(del.response.delete_().deleted(), 1);
  EXPECT_EQ(del.response.delete_().revision(), 4);
  d.Apply(PutCmd("/a", "3"));
  kv = d.sm.Range(RangeReq("/a")).range().kvs(0);
  EXPECT_EQ(kv.create_revision(), 5);
  EXPECT_EQ(kv.version(), 1);
  EXPECT_EQ(d.sm.key_count(), 2u);
  EXPECT_EQ(d.sm.last_applied_index(), 5u);
}

TEST(KvTest, DeleteOfMissingKeyCreatesNoRevision) {
  Driver d;
  d.Apply(PutCmd("/a", "1"));
  ApplyResult r = d.Apply(DeleteCmd("/missing"));
  EXPECT_EQ(r.response.error().code(), pb::OK);
  EXPECT_EQ(r.response.delete_().deleted(), 0);
  EXPECT_EQ(r.response.delete_().revision(), 1);
  EXPECT_EQ(d.sm.revision(), 1);
  EXPECT_TRUE(r.events.empty());
}

class RangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* k : {"/app/a", "/app/b", "/app/c", "/app/d", "/apq", "/b"}) {
      d.Apply(PutCmd(k, std::string("v") + k));
    }
  }
  Driver d;
};

TEST_F(RangeTest, PrefixLimitCountMore) {
  pb::RangeRequest req = RangeReq("/app/", true);
  pb::Response all = d.sm.Range(req);
  ASSERT_EQ(all.range().kvs_size(), 4);
  EXPECT_EQ(all.range().count(), 4);
  EXPECT_FALSE(all.range().more());
  EXPECT_EQ(all.range().kvs(0).key(), "/app/a");
  EXPECT_EQ(all.range().kvs(3).key(), "/app/d");

  req.set_limit(2);
  pb::Response limited = d.sm.Range(req);
  ASSERT_EQ(limited.range().kvs_size(), 2);
  EXPECT_EQ(limited.range().kvs(1).key(), "/app/b");
  EXPECT_EQ(limited.range().count(), 4);
  EXPECT_TRUE(limited.range().more());

  req.set_limit(4);
  EXPECT_FALSE(d.sm.Range(req).range().more());
}

TEST_F(RangeTest, HalfOpenRangeAndWholeKeySpace) {
  pb::RangeRequest req = RangeReq("/app/b");
  req.set_range_end("/app/d");
  pb::Response r = d.sm.Range(req);
  ASSERT_EQ(r.range().kvs_size(), 2);
  EXPECT_EQ(r.range().kvs(0).key(), "/app/b");
  EXPECT_EQ(r.range().kvs(1).key(), "/app/c");

  req.set_range_end(std::string("\0", 1));  // to the end
  EXPECT_EQ(d.sm.Range(req).range().count(), 5);

  EXPECT_EQ(d.sm.Range(RangeReq("", true)).range().count(), 6);  // empty prefix: all keys
}

TEST_F(RangeTest, KeysOnlyAndCountOnly) {
  pb::RangeRequest req = RangeReq("/app/", true);
  req.set_keys_only(true);
  pb::Response r = d.sm.Range(req);
  ASSERT_EQ(r.range().kvs_size(), 4);
  EXPECT_EQ(r.range().kvs(0).key(), "/app/a");
  EXPECT_TRUE(r.range().kvs(0).value().empty());
  EXPECT_EQ(r.range().kvs(0).version(), 1);

  req.set_keys_only(false);
  req.set_count_only(true);
  r = d.sm.Range(req);
  EXPECT_EQ(r.range().kvs_size(), 0);
  EXPECT_EQ(r.range().count(), 4);
}

TEST_F(RangeTest, BadRangesAreInvalidArgument) {
  EXPECT_EQ(d.sm.Range(RangeReq("")).error().code(), pb::INVALID_ARGUMENT);
  pb::RangeRequest backwards = RangeReq("/b");
  backwards.set_range_end("/a");
  EXPECT_EQ(d.sm.Range(backwards).error().code(), pb::INVALID_ARGUMENT);
  pb::RangeRequest negative = RangeReq("/b");
  negative.set_limit(-1);
  EXPECT_EQ(d.sm.Range(negative).error().code(), pb::INVALID_ARGUMENT);
  pb::Response future = d.sm.Range(RangeReq("/b", false, 99));
  EXPECT_EQ(future.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_NE(future.error().message().find("future"), std::string::npos);
  EXPECT_FALSE(future.has_range());
}

TEST_F(RangeTest, DeletePrefixWithPrevKvsAndEvents) {
  ApplyResult r = d.Apply(DeleteCmd("/app/", /*prefix=*/true, /*prev_kv=*/true));
  ASSERT_EQ(r.response.error().code(), pb::OK);
  EXPECT_EQ(r.response.delete_().deleted(), 4);
  ASSERT_EQ(r.response.delete_().prev_kvs_size(), 4);
  EXPECT_EQ(r.response.delete_().prev_kvs(2).value(), "v/app/c");
  EXPECT_EQ(r.response.delete_().revision(), 7);
  EXPECT_EQ(d.sm.revision(), 7);  // one revision for the whole delete
  ASSERT_EQ(r.events.size(), 4u);
  for (const StateEvent& e : r.events) {
    EXPECT_EQ(e.revision, 7);
    EXPECT_EQ(e.event.type(), pb::Event::DELETE);
    EXPECT_EQ(e.event.kv().mod_revision(), 7);
    EXPECT_EQ(e.event.prev_kv().key(), e.event.kv().key());
  }
  EXPECT_EQ(d.Value("/apq"), "v/apq");  // "/apq" is not under "/app/"
  EXPECT_EQ(d.sm.key_count(), 2u);
}

TEST(KvTest, DeleteHalfOpenRange) {
  Driver d;
  for (const char* k : {"a", "b", "c"}) d.Apply(PutCmd(k, "v"));
  ApplyResult r = d.Apply(DeleteCmd("a", false, false, "c"));
  EXPECT_EQ(r.response.delete_().deleted(), 2);
  EXPECT_EQ(d.Value("c"), "v");
  EXPECT_EQ(d.Value("a"), "<none>");
}

TEST(KvTest, SequentialKeysAreMonotonicAndNeverReused) {
  Driver d;
  ApplyResult a = d.Apply(SequentialCmd("/q/", "a"));
  ApplyResult b = d.Apply(SequentialCmd("/q/", "b"));
  ApplyResult other = d.Apply(SequentialCmd("/r/", "c"));
  EXPECT_EQ(a.response.put().key(), "/q/00000000000000000001");
  EXPECT_EQ(b.response.put().key(), "/q/00000000000000000002");
  EXPECT_EQ(other.response.put().key(), "/r/00000000000000000001");  // per prefix
  EXPECT_EQ(d.Value("/q/00000000000000000002"), "b");

  d.Apply(DeleteCmd("/q/", true));
  ApplyResult c = d.Apply(SequentialCmd("/q/", "c"));
  EXPECT_EQ(c.response.put().key(), "/q/00000000000000000003");

  // A number taken by an explicit put is skipped, not overwritten.
  d.Apply(PutCmd("/q/00000000000000000004", "manual"));
  ApplyResult e = d.Apply(SequentialCmd("/q/", "e"));
  EXPECT_EQ(e.response.put().key(), "/q/00000000000000000005");
  EXPECT_EQ(d.Value("/q/00000000000000000004"), "manual");
}

TEST(KvTest, LimitsAreTooLargeAndChangeNothing) {
  StateMachineOptions o;
  o.max_key_bytes = 32;
  o.max_value_bytes = 16;
  Driver d(o);
  ApplyResult big_key = d.Apply(PutCmd(std::string(33, 'k'), "v"));
  EXPECT_EQ(big_key.response.error().code(), pb::TOO_LARGE);
  ApplyResult big_value = d.Apply(PutCmd("/k", std::string(17, 'v')));
  EXPECT_EQ(big_value.response.error().code(), pb::TOO_LARGE);
  EXPECT_FALSE(big_value.response.has_put());
  ApplyResult fits = d.Apply(PutCmd(std::string(32, 'k'), std::string(16, 'v')));
  EXPECT_EQ(fits.response.error().code(), pb::OK);
  // A sequential prefix must leave room for the 20 digits.
  ApplyResult seq = d.Apply(SequentialCmd(std::string(13, 'p'), "v"));
  EXPECT_EQ(seq.response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.sm.revision(), 1);
  EXPECT_EQ(d.sm.Range(RangeReq(std::string(40, 'k'))).error().code(), pb::TOO_LARGE);
}

TEST(KvTest, DefaultLimitsMatchTheDocumentation) {
  StateMachineOptions o;
  EXPECT_EQ(o.max_key_bytes, 8u * 1024);
  EXPECT_EQ(o.max_value_bytes, 1024u * 1024);
  EXPECT_EQ(o.max_txn_ops, 128u);
  EXPECT_EQ(o.history_revisions, 10'000);
  EXPECT_EQ(o.max_dedup_clients, 10'000u);
}

TEST(KvTest, EmptyKeyAndEmptyCommandAreInvalidArgument) {
  Driver d;
  ApplyResult r = d.Apply(PutCmd("", "v"));
  EXPECT_EQ(r.response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(DeleteCmd("")).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(Command()).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.sm.revision(), 0);
  EXPECT_EQ(d.sm.last_applied_index(), 3u);  // committed entries still count
}

TEST(KvTest, OldRaftIndexIsRejectedWithoutChange) {
  Driver d;
  ASSERT_EQ(d.sm.Apply(5, PutCmd("/a", "1")).response.error().code(), pb::OK);
  ApplyResult again = d.sm.Apply(5, PutCmd("/a", "2"));
  EXPECT_EQ(again.response.error().code(), pb::INTERNAL);
  EXPECT_EQ(d.Value("/a"), "1");
  d.sm.AdvanceIndex(9);
  EXPECT_EQ(d.sm.last_applied_index(), 9u);
  EXPECT_EQ(d.sm.Apply(7, PutCmd("/a", "3")).response.error().code(), pb::INTERNAL);
}

}  // namespace
}  // namespace coord::server::testing
