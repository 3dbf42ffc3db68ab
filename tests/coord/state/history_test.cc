// History window: reads at past revisions, compaction (explicit and automatic),
// watch catch-up through EventsSince, list-then-watch.
#include <gtest/gtest.h>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

TEST(HistoryTest, ReadsAtPastRevisions) {
  Driver d;
  d.Apply(PutCmd("/k", "v1"));     // rev 1
  d.Apply(PutCmd("/k", "v2"));     // rev 2
  d.Apply(DeleteCmd("/k"));        // rev 3
  d.Apply(PutCmd("/k", "v4"));     // rev 4
  d.Apply(PutCmd("/other", "o"));  // rev 5
  EXPECT_EQ(d.Value("/k", 1), "v1");
  EXPECT_EQ(d.Value("/k", 2), "v2");
  EXPECT_EQ(d.Value("/k", 3), "<none>");
  EXPECT_EQ(d.Value("/k", 4), "v4");
  EXPECT_EQ(d.Value("/k", 5), "v4");
  EXPECT_EQ(d.Value("/other", 4), "<none>");
  pb::Response past = d.sm.Range(RangeReq("/", true, 2));
  EXPECT_EQ(past.range().count(), 1);
  EXPECT_EQ(past.range().kvs(0).version(), 2);
  EXPECT_EQ(past.range().kvs(0).mod_revision(), 2);
}

TEST(HistoryTest, ExplicitCompactionAnswersCompacted) {
  Driver d;
  for (int i = 1; i <= 6; ++i) d.Apply(PutCmd("/k", "v" + std::to_string(i)));
  ApplyResult c = d.Apply(CompactCmd(4));
  ASSERT_EQ(c.response.error().code(), pb::OK);
  EXPECT_EQ(c.response.compact().compacted_revision(), 4);
  EXPECT_EQ(d.sm.compacted_revision(), 4);

  pb::Response below = d.sm.Range(RangeReq("/k", false, 4));
  EXPECT_EQ(below.error().code(), pb::COMPACTED);
  EXPECT_EQ(below.error().compacted_revision(), 4);
  EXPECT_EQ(d.Value("/k", 5), "v5");  // the oldest readable revision
  EXPECT_EQ(d.Value("/k"), "v6");

  // Compacting again at or below is COMPACTED; beyond the head is invalid.
  EXPECT_EQ(d.Apply(CompactCmd(3)).response.error().code(), pb::COMPACTED);
  EXPECT_EQ(d.Apply(CompactCmd(99)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(CompactCmd(0)).response.error().code(), pb::INVALID_ARGUMENT);
}

TEST(HistoryTest, CompactionKeepsLiveBaseAndDropsDeadKeys) {
  Driver d;
  d.Apply(PutCmd("/live", "a"));  // 1
  d.Apply(PutCmd("/dead", "b"));  // 2
  d.Apply(DeleteCmd("/dead"));    // 3
  d.Apply(PutCmd("/x", "c"));     // 4
  d.Apply(CompactCmd(3));
  // Reading at 4 still sees the key written at 1, whose version is the base.
  EXPECT_EQ(d.Value("/live", 4), "a");
  EXPECT_EQ(d.Value("/dead", 4), "<none>");
  // A later update still reports the base as prev_kv.
  ApplyResult r = d.Apply(PutCmd("/live", "a2", 0, true));
  EXPECT_EQ(r.response.put().prev_kv().value(), "a");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event.prev_kv().mod_revision(), 1);
}

TEST(HistoryTest, AutomaticCompactionKeepsTheLastNRevisions) {
  StateMachineOptions o;
  o.history_revisions = 5;
  Driver d(o);
  for (int i = 1; i <= 20; ++i) d.Apply(PutCmd("/k" + std::to_string(i % 3), "v"));
  EXPECT_EQ(d.sm.revision(), 20);
  EXPECT_EQ(d.sm.compacted_revision(), 15);
  EXPECT_EQ(d.sm.Range(RangeReq("/k1", false, 15)).error().code(), pb::COMPACTED);
  EXPECT_EQ(d.sm.Range(RangeReq("/k1", false, 16)).error().code(), pb::OK);
  Result<EventBatch> events = d.sm.EventsSince(16, "/", "", true, 0);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->events.size(), 5u);
}

TEST(HistoryTest, ManyWritesKeepTheWindowBounded) {
  StateMachineOptions o;
  o.history_revisions = 1000;
  Driver d(o);
  for (int i = 0; i < 100'000; ++i) {
    d.Apply(PutCmd("/k/" + std::to_string(i % 5000), std::to_string(i)));
  }
  EXPECT_EQ(d.sm.revision(), 100'000);
  EXPECT_EQ(d.sm.compacted_revision(), 99'000);
  EXPECT_EQ(d.sm.key_count(), 5000u);
  // Exactly the window is kept: one event per revision above the compacted one.
  Result<EventBatch> all = d.sm.EventsSince(99'001, "/", "", true, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events.size(), 1000u);
  // Keys untouched inside the window are still readable at its oldest revision.
  EXPECT_EQ(d.Value("/k/0", 99'001), "95000");
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d.Apply(PutCmd("/w/a", "1"));                // 1
    d.Apply(PutCmd("/x", "other"));              // 2
    d.Apply(PutCmd("/w/a", "2"));                // 3
    d.Apply(PutCmd("/w/b", "3"));                // 4
    d.Apply(DeleteCmd("/w/", /*prefix=*/true));  // 5: two events
    d.Apply(PutCmd("/w/c", "4"));                // 6
  }
  Driver d;
};

TEST_F(EventsTest, InRevisionOrderWithPrevKvAndNoGaps) {
  Result<EventBatch> batch = d.sm.EventsSince(1, "/w/", "", true, 0);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const auto& ev = batch->events;
  ASSERT_EQ(ev.size(), 6u);
  std::vector<int64_t> revs;
  for (const StateEvent& e : ev) revs.push_back(e.revision);
  EXPECT_EQ(revs, (std::vector<int64_t>{1, 3, 4, 5, 5, 6}));
  EXPECT_EQ(ev[0].event.type(), pb::Event::PUT);
  EXPECT_FALSE(ev[0].event.has_prev_kv());
  EXPECT_EQ(ev[1].event.prev_kv().value(), "1");
  EXPECT_EQ(ev[1].event.kv().version(), 2);
  EXPECT_EQ(ev[3].event.type(), pb::Event::DELETE);
  EXPECT_EQ(ev[3].event.kv().key(), "/w/a");
  EXPECT_EQ(ev[3].event.kv().mod_revision(), 5);
  EXPECT_EQ(ev[3].event.prev_kv().value(), "2");
  EXPECT_EQ(ev[4].event.prev_kv().value(), "3");
  EXPECT_EQ(batch->next_revision, 7);
}

TEST_F(EventsTest, MatchTheEventsApplyReturned) {
  Driver fresh;
  std::vector<StateEvent> live;
  for (const Command& c : {PutCmd("/a", "1"), PutCmd("/a", "2"), DeleteCmd("/a", false)}) {
    ApplyResult r = fresh.Apply(c);
    live.insert(live.end(), r.events.begin(), r.events.end());
  }
  Result<EventBatch> replay = fresh.sm.EventsSince(1, "/a", "", false, 0);
  ASSERT_TRUE(replay.ok());
  ASSERT_EQ(replay->events.size(), live.size());
  for (size_t i = 0; i < live.size(); ++i) {
    EXPECT_EQ(replay->events[i].revision, live[i].revision);
    EXPECT_EQ(replay->events[i].event.SerializeAsString(), live[i].event.SerializeAsString());
  }
}

TEST_F(EventsTest, SingleKeyAndStartInTheMiddle) {
  Result<EventBatch> batch = d.sm.EventsSince(4, "/w/a", "", false, 0);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->events.size(), 1u);
  EXPECT_EQ(batch->events[0].revision, 5);
  // Resuming past the head yields nothing and keeps the position.
  Result<EventBatch> future = d.sm.EventsSince(10, "/w/", "", true, 0);
  ASSERT_TRUE(future.ok());
  EXPECT_TRUE(future->events.empty());
  EXPECT_EQ(future->next_revision, 10);
}

TEST_F(EventsTest, MaxEventsNeverSplitsARevision) {
  Result<EventBatch> first = d.sm.EventsSince(1, "/w/", "", true, 3);
  ASSERT_TRUE(first.ok());
  // 1, 3, 4 fill the batch; revision 5 (two events) is left whole for the next one.
  ASSERT_EQ(first->events.size(), 3u);
  EXPECT_EQ(first->next_revision, 5);
  Result<EventBatch> second = d.sm.EventsSince(first->next_revision, "/w/", "", true, 1);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->events.size(), 2u);  // the whole of revision 5
  EXPECT_EQ(second->next_revision, 6);
}

TEST_F(EventsTest, CompactedStartIsRefused) {
  d.Apply(CompactCmd(3));
  Result<EventBatch> old = d.sm.EventsSince(3, "/w/", "", true, 0);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kCompacted);
  pb::Error e = ErrorFromStatus(old.status(), d.sm.compacted_revision());
  EXPECT_EQ(e.code(), pb::COMPACTED);
  EXPECT_EQ(e.compacted_revision(), 3);
  Result<EventBatch> ok = d.sm.EventsSince(4, "/w/", "", true, 0);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->events.size(), 4u);
  EXPECT_EQ(d.sm.EventsSince(0, "/w/", "", true, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EventsTest, ListThenWatchIsAtOneRevision) {
  pb::WatchCreateRequest req;
  req.set_key("/");
  req.set_prefix(true);
  req.set_list(true);
  pb::Response listed = d.sm.ListForWatch(req);
  ASSERT_EQ(listed.error().code(), pb::OK);
  const int64_t r = listed.watch_create().list_revision();
  EXPECT_EQ(r, 6);
  ASSERT_EQ(listed.watch_create().kvs_size(), 2);
  EXPECT_EQ(listed.watch_create().kvs(0).key(), "/w/c");
  EXPECT_EQ(listed.watch_create().kvs(1).key(), "/x");
  d.Apply(PutCmd("/w/d", "5"));
  Result<EventBatch> after = d.sm.EventsSince(r + 1, "/", "", true, 0);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->events.size(), 1u);
  EXPECT_EQ(after->events[0].event.kv().key(), "/w/d");

  d.Apply(CompactCmd(5));
  pb::WatchCreateRequest old;
  old.set_key("/w/a");
  old.set_start_revision(2);
  EXPECT_EQ(d.sm.ListForWatch(old).error().code(), pb::COMPACTED);
}

}  // namespace
}  // namespace coord::server::testing
