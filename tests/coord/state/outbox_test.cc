// Topics (the outbox): appends atomic with the other ops of a txn, a failed
// compare writing neither, offsets that increase and are never reused, reads from
// an offset with a limit and after deletions, consumer offsets with a compare, and
// retention below the slowest consumer.
#include <gtest/gtest.h>

#include "coord/state/tpc_test_util.h"

namespace coord::server::testing {
namespace {

const char kTopic[] = "/orders/events/";

// A txn: if /orders/1 has `version`, set it to `state` and announce it.
Command OrderTxn(int64_t version, const std::string& state) {
  Command c;
  pb::Compare* cmp = c.mutable_txn()->add_compare();
  cmp->set_key("/orders/1");
  cmp->set_target(pb::Compare::VERSION);
  cmp->set_op(pb::Compare::EQUAL);
  cmp->set_number(version);
  *c.mutable_txn()->add_success() = PutOp("/orders/1", state);
  *c.mutable_txn()->add_success() = AppendOp(kTopic, "order 1 is " + state);
  return c;
}

TEST(OutboxTest, AppendCommitsWithThePutsAtOneRevision) {
  Driver d;
  ApplyResult r = d.Apply(OrderTxn(0, "new"));
  ASSERT_EQ(r.response.error().code(), pb::OK) << r.response.error().message();
  ASSERT_TRUE(r.response.txn().succeeded());
  ASSERT_EQ(r.response.txn().results_size(), 2);
  const pb::AppendResponse& a = r.response.txn().results(1).append();
  EXPECT_EQ(a.offset(), 1);
  EXPECT_EQ(a.key(), std::string(kTopic) + "00000000000000000001");
  EXPECT_EQ(a.revision(), 1);
  EXPECT_EQ(d.sm.revision(), 1) << "state and event share one revision";
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].event.kv().key(), "/orders/1");
  EXPECT_EQ(r.events[1].event.kv().key(), a.key());
  EXPECT_EQ(d.Value(a.key()), "order 1 is new");
}

TEST(OutboxTest, FailedCompareWritesNeitherStateNorEvent) {
  Driver d;
  ASSERT_TRUE(d.Apply(OrderTxn(0, "new")).response.txn().succeeded());
  const int64_t revision = d.sm.revision();
  ApplyResult stale = d.Apply(OrderTxn(0, "paid"));  // version is 1 now
  ASSERT_EQ(stale.response.error().code(), pb::OK);
  EXPECT_FALSE(stale.response.txn().succeeded());
  EXPECT_EQ(d.sm.revision(), revision);
  EXPECT_TRUE(stale.events.empty());
  EXPECT_EQ(d.Value("/orders/1"), "new");
  EXPECT_EQ(Offsets(TopicReadOf(d, kTopic, 0)), std::vector<int64_t>{1});
  // The counter did not move either: the next append takes offset 2.
  ApplyResult ok = d.Apply(OrderTxn(1, "paid"));
  EXPECT_EQ(ok.response.txn().results(1).append().offset(), 2);
}

TEST(OutboxTest, OffsetsIncreaseAndAreNeverReused) {
  Driver d;
  Command two;
  *two.mutable_txn()->add_success() = AppendOp(kTopic, "a");
  *two.mutable_txn()->add_success() = AppendOp(kTopic, "b");
  ApplyResult r = d.Apply(two);
  ASSERT_EQ(r.response.error().code(), pb::OK) << r.response.error().message();
  EXPECT_EQ(r.response.txn().results(0).append().offset(), 1);
  EXPECT_EQ(r.response.txn().results(1).append().offset(), 2);
  // Deleting every record (retention by the producer) keeps the counter.
  d.Apply(DeleteCmd(kTopic, /*prefix=*/true));
  Command one;
  *one.mutable_txn()->add_success() = AppendOp(kTopic, "c");
  EXPECT_EQ(d.Apply(one).response.txn().results(0).append().offset(), 3);
  // ... also across a snapshot.
  Driver restored;
  ASSERT_TRUE(restored.sm.Restore(d.sm.Snapshot()).ok());
  restored.index = d.index;
  EXPECT_EQ(restored.Apply(one).response.txn().results(0).append().offset(), 4);
  // Topics count separately.
  Command other;
  *other.mutable_txn()->add_success() = AppendOp("/other/", "x");
  EXPECT_EQ(d.Apply(other).response.txn().results(0).append().offset(), 1);
}

TEST(OutboxTest, ReadFromAnOffsetWithALimit) {
  Driver d;
  for (int i = 1; i <= 5; ++i) {
    Command c;
    *c.mutable_txn()->add_success() = AppendOp(kTopic, "v" + std::to_string(i));
    d.Apply(c);
  }
  d.Apply(PutCmd(std::string(kTopic) + "not-a-record", "x"));  // ignored by reads
  pb::Response all = TopicReadOf(d, kTopic, 0);
  ASSERT_EQ(all.error().code(), pb::OK);
  EXPECT_EQ(Offsets(all), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(all.topic_read().last_offset(), 5);
  EXPECT_EQ(all.topic_read().next_offset(), 6);
  EXPECT_FALSE(all.topic_read().more());
  EXPECT_EQ(all.topic_read().records(2).value(), "v3");

  pb::Response page = TopicReadOf(d, kTopic, 2, 2);
  EXPECT_EQ(Offsets(page), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(page.topic_read().more());
  EXPECT_EQ(page.topic_read().next_offset(), 4);
  EXPECT_FALSE(page.topic_read().truncated());
  pb::Response rest = TopicReadOf(d, kTopic, page.topic_read().next_offset(), 10);
  EXPECT_EQ(Offsets(rest), (std::vector<int64_t>{4, 5}));

  pb::Response beyond = TopicReadOf(d, kTopic, 9);
  EXPECT_TRUE(beyond.topic_read().records().empty());
  EXPECT_EQ(beyond.topic_read().next_offset(), 9);
  EXPECT_FALSE(beyond.topic_read().truncated());

  // Below the oldest retained record: from the oldest available, flagged.
  d.Apply(DeleteCmd(std::string(kTopic) + "00000000000000000001"));
  d.Apply(DeleteCmd(std::string(kTopic) + "00000000000000000002"));
  pb::Response gap = TopicReadOf(d, kTopic, 1, 2);
  EXPECT_EQ(Offsets(gap), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(gap.topic_read().truncated());
  EXPECT_FALSE(TopicReadOf(d, kTopic, 0).topic_read().truncated()) << "0 = from the oldest";

  EXPECT_EQ(TopicReadOf(d, "", 0).error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(TopicReadOf(d, kTopic, -1).error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(TopicReadOf(d, kTopic, 0, -1).error().code(), pb::INVALID_ARGUMENT);
}

TEST(OutboxTest, BadAppendsAreRefusedWhole) {
  StateMachineOptions options;
  options.max_key_bytes = 30;
  Driver d(options);
  Command empty;
  *empty.mutable_txn()->add_success() = PutOp("/k", "v");
  *empty.mutable_txn()->add_success() = AppendOp("", "v");
  EXPECT_EQ(d.Apply(empty).response.error().code(), pb::INVALID_ARGUMENT);
  Command long_topic;
  *long_topic.mutable_txn()->add_success() = AppendOp("/a-topic-too-long/", "v");
  EXPECT_EQ(d.Apply(long_topic).response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.sm.revision(), 0);
  EXPECT_EQ(d.Value("/k"), "<none>");
}

TEST(OutboxTest, AppendThenDeleteOfItsRecordIsRefused) {
  Driver d;
  Command c;
  *c.mutable_txn()->add_success() = AppendOp(kTopic, "a");
  pb::TxnOp* del = c.mutable_txn()->add_success();
  del->mutable_delete_()->set_key(kTopic);
  del->mutable_delete_()->set_prefix(true);
  ApplyResult r = d.Apply(c);
  EXPECT_EQ(r.response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_NE(r.response.error().message().find("more than once"), std::string::npos);
  EXPECT_EQ(d.sm.revision(), 0);
  EXPECT_EQ(TopicReadOf(d, kTopic, 0).topic_read().last_offset(), 0) << "no offset taken";
}

TEST(OutboxTest, ConsumerOffsetsCompareAndSet) {
  Driver d;
  ApplyResult first = d.Apply(CommitOffsetCmd(kTopic, "billing", 0, 3));
  ASSERT_EQ(first.response.error().code(), pb::OK) << first.response.error().message();
  const std::string key = first.response.topic_commit_offset().key();
  EXPECT_EQ(key, "/_coord/offsets//orders/events//billing");
  EXPECT_EQ(d.Value(key), "3");
  EXPECT_EQ(first.response.topic_commit_offset().revision(), d.sm.revision());

  // A second consumer instance that still believes 0 loses.
  ApplyResult stale = d.Apply(CommitOffsetCmd(kTopic, "billing", 0, 2));
  EXPECT_EQ(stale.response.error().code(), pb::CONFLICT);
  EXPECT_NE(stale.response.error().message().find("is 3, not 0"), std::string::npos)
      << stale.response.error().message();
  EXPECT_EQ(d.Value(key), "3");
  EXPECT_EQ(d.Apply(CommitOffsetCmd(kTopic, "billing", 3, 6)).response.error().code(), pb::OK);
  EXPECT_EQ(d.Value(key), "6");

  // The same recipe with a plain txn: compare the value, then put.
  Command txn;
  pb::Compare* cmp = txn.mutable_txn()->add_compare();
  cmp->set_key(key);
  cmp->set_target(pb::Compare::VALUE);
  cmp->set_value("6");
  *txn.mutable_txn()->add_success() = PutOp(key, "7");
  EXPECT_TRUE(d.Apply(txn).response.txn().succeeded());
  EXPECT_FALSE(d.Apply(txn).response.txn().succeeded()) << "6 is stale now";
  EXPECT_EQ(d.Value(key), "7");

  EXPECT_EQ(d.Apply(CommitOffsetCmd(kTopic, "a/b", 0, 1)).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(CommitOffsetCmd(kTopic, "", 0, 1)).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(CommitOffsetCmd("", "c", 0, 1)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(CommitOffsetCmd(kTopic, "c", 0, -1)).response.error().code(),
            pb::INVALID_ARGUMENT);
  d.Apply(PutCmd("/_coord/offsets/t/huge", "99999999999999999999"));  // overflows int64
  EXPECT_EQ(d.Apply(CommitOffsetCmd("t", "huge", 0, 1)).response.error().code(), pb::CONFLICT);
  d.Apply(PutCmd("/_coord/offsets/t/garbled", "x"));
  EXPECT_EQ(d.Apply(CommitOffsetCmd("t", "garbled", 0, 1)).response.error().code(), pb::CONFLICT);
}

Command TrimCmd(const std::string& topic, int64_t below, int64_t limit = 0) {
  Command c;
  c.mutable_topic_trim()->set_topic(topic);
  c.mutable_topic_trim()->set_below_offset(below);
  c.mutable_topic_trim()->set_limit(limit);
  return c;
}

std::vector<int64_t> RetainedOffsets(Driver& d, const std::string& topic) {
  return Offsets(TopicReadOf(d, topic, 0));
}

TEST(OutboxTest, TrimDeletesOnlyWhatEveryConsumerHasPassed) {
  Driver d;
  for (int i = 0; i < 10; ++i) {
    Command c;
    *c.mutable_txn()->add_success() = AppendOp(kTopic, "e" + std::to_string(i + 1));
    ASSERT_TRUE(d.Apply(c).response.txn().succeeded());
  }
  // A record-like key of a longer topic and a consumer of it do not count.
  Command other;
  *other.mutable_txn()->add_success() = AppendOp(std::string(kTopic) + "x/", "other");
  d.Apply(other);
  ASSERT_EQ(d.Apply(CommitOffsetCmd(std::string(kTopic) + "x/", "slow", 0, 1)).response.error().code(),
            pb::OK);

  // No consumer and no explicit bound: nothing goes.
  ApplyResult none = d.Apply(TrimCmd(kTopic, 0));
  ASSERT_EQ(none.response.error().code(), pb::OK) << none.response.error().message();
  EXPECT_EQ(none.response.topic_trim().deleted(), 0);
  EXPECT_EQ(RetainedOffsets(d, kTopic).size(), 10u);

  // Two consumers at 8 and 4 (the next offsets they read): records 1..3 go.
  d.Apply(CommitOffsetCmd(kTopic, "fast", 0, 8));
  d.Apply(CommitOffsetCmd(kTopic, "slow", 0, 4));
  const int64_t before = d.sm.revision();
  ApplyResult trim = d.Apply(TrimCmd(kTopic, 0));
  ASSERT_EQ(trim.response.error().code(), pb::OK) << trim.response.error().message();
  EXPECT_EQ(trim.response.topic_trim().deleted(), 3);
  EXPECT_EQ(trim.response.topic_trim().bound(), 4);
  EXPECT_FALSE(trim.response.topic_trim().more());
  EXPECT_EQ(trim.response.topic_trim().revision(), before + 1) << "one revision for the batch";
  EXPECT_EQ(RetainedOffsets(d, kTopic), (std::vector<int64_t>{4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(RetainedOffsets(d, std::string(kTopic) + "x/").size(), 1u);

  // An explicit bound lowers it further, never raises it; a limit cuts the batch.
  d.Apply(CommitOffsetCmd(kTopic, "slow", 4, 9));
  ApplyResult lowered = d.Apply(TrimCmd(kTopic, 6, 1));
  EXPECT_EQ(lowered.response.topic_trim().deleted(), 1);
  EXPECT_TRUE(lowered.response.topic_trim().more());
  EXPECT_EQ(d.Apply(TrimCmd(kTopic, 6)).response.topic_trim().deleted(), 1);
  EXPECT_EQ(RetainedOffsets(d, kTopic), (std::vector<int64_t>{6, 7, 8, 9, 10}));
  EXPECT_EQ(d.Apply(TrimCmd(kTopic, 100)).response.topic_trim().bound(), 8) << "fast is at 8";
  EXPECT_EQ(RetainedOffsets(d, kTopic), (std::vector<int64_t>{8, 9, 10}));

  // Offsets are not reused after a trim.
  Command next;
  *next.mutable_txn()->add_success() = AppendOp(kTopic, "e11");
  EXPECT_EQ(d.Apply(next).response.txn().results(0).append().offset(), 11);

  // Bad requests change nothing.
  const int64_t rev = d.sm.revision();
  EXPECT_EQ(d.Apply(TrimCmd("", 3)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(TrimCmd(kTopic, -1)).response.error().code(), pb::INVALID_ARGUMENT);
  d.Apply(PutCmd(std::string("/_coord/offsets/") + kTopic + "/garbled", "x"));
  EXPECT_EQ(d.Apply(TrimCmd(kTopic, 0)).response.error().code(), pb::CONFLICT);
  EXPECT_EQ(d.sm.revision(), rev + 1) << "only the garbled put wrote";
}

TEST(OutboxTest, OneTrimDeletesAtMostTenThousandRecords) {
  Driver d;
  constexpr int kRecords = 10'050;
  for (int done = 0; done < kRecords;) {
    Command c;
    for (int i = 0; i < 100 && done < kRecords; ++i, ++done) {
      *c.mutable_txn()->add_success() = AppendOp(kTopic, "e");
    }
    ASSERT_TRUE(d.Apply(c).response.txn().succeeded());
  }
  d.Apply(CommitOffsetCmd(kTopic, "all", 0, kRecords + 1));
  // No limit, and a limit above the cap, both stop at 10,000.
  ApplyResult first = d.Apply(TrimCmd(kTopic, 0, 20'000));
  ASSERT_EQ(first.response.error().code(), pb::OK) << first.response.error().message();
  EXPECT_EQ(first.response.topic_trim().deleted(), 10'000);
  EXPECT_TRUE(first.response.topic_trim().more());
  ApplyResult rest = d.Apply(TrimCmd(kTopic, 0));
  EXPECT_EQ(rest.response.topic_trim().deleted(), 50);
  EXPECT_FALSE(rest.response.topic_trim().more());
  EXPECT_TRUE(RetainedOffsets(d, kTopic).empty());
}

}  // namespace
}  // namespace coord::server::testing
