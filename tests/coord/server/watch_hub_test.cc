#include "server/watch_hub.h"

#include <gtest/gtest.h>

#include "fake_sink.h"
#include "server/state_adapter.h"

namespace coord::server {
namespace {

coord::state::Command PutCmd(const std::string& key, const std::string& value) {
  coord::state::Command c;
  c.mutable_put()->set_key(key);
  c.mutable_put()->set_value(value);
  return c;
}

// A real state machine behind the adapter, applying commands like the node would.
class WatchHubTest : public ::testing::Test {
 protected:
  WatchHubTest() : hub_(WatchHubOptions{4, 100}), adapter_({}, &hub_, nullptr) {}

  void Apply(const coord::state::Command& c) {
    ASSERT_TRUE(adapter_.Apply(++index_, c.SerializeAsString()).ok());
  }
  void Create(const std::shared_ptr<ClientSink>& sink, uint64_t id,
              const coord::v1::WatchCreateRequest& req) {
    adapter_.Read([&](const StateMachine& sm) {
      hub_.Create(sink, id, req, false, sm, coord::v1::ResponseHeader());
      return 0;
    });
  }

  WatchHub hub_;
  StateAdapter adapter_;
  uint64_t index_ = 0;
};

TEST_F(WatchHubTest, LiveEventsArriveInRevisionOrderAfterTheReply) {
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/a/");
  req.set_prefix(true);
  Create(sink, 10, req);
  Apply(PutCmd("/a/1", "x"));
  Apply(PutCmd("/b/1", "ignored"));
  Apply(PutCmd("/a/2", "y"));
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(out[0].has_response());
  EXPECT_EQ(out[0].response().id(), 10u);
  const int64_t wid = out[0].response().watch_create().watch_id();
  EXPECT_GT(wid, 0);
  EXPECT_EQ(out[1].watch().watch_id(), wid);
  EXPECT_EQ(out[1].watch().events(0).kv().key(), "/a/1");
  EXPECT_EQ(out[2].watch().events(0).kv().key(), "/a/2");
  EXPECT_LT(out[1].watch().revision(), out[2].watch().revision());
}

TEST_F(WatchHubTest, CatchUpFromStartRevisionHasNoGapAndNoDuplicate) {
  Apply(PutCmd("/k", "1"));  // rev 1
  Apply(PutCmd("/k", "2"));  // rev 2
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/k");
  req.set_start_revision(1);
  Create(sink, 1, req);
  Apply(PutCmd("/k", "3"));  // rev 3
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 4u);
  std::vector<int64_t> revs;
  for (size_t i = 1; i < out.size(); ++i) revs.push_back(out[i].watch().revision());
  EXPECT_EQ(revs, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(out[3].watch().events(0).kv().value(), "3");
}

TEST_F(WatchHubTest, ListThenWatchStartsAfterTheListRevision) {
  Apply(PutCmd("/p/a", "1"));
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/p/");
  req.set_prefix(true);
  req.set_list(true);
  Create(sink, 1, req);
  Apply(PutCmd("/p/b", "2"));
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[0].response().watch_create().kvs_size(), 1);
  EXPECT_EQ(out[0].response().watch_create().list_revision(), 1);
  EXPECT_EQ(out[1].watch().events(0).kv().key(), "/p/b");
  EXPECT_EQ(out[1].watch().revision(), 2);
}

TEST_F(WatchHubTest, SlowConsumerIsCancelledWithAReason) {
  auto sink = std::make_shared<FakeSink>(1, /*max_pending=*/3);
  coord::v1::WatchCreateRequest req;
  req.set_key("/s");
  Create(sink, 1, req);
  for (int i = 0; i < 10; ++i) Apply(PutCmd("/s", std::to_string(i)));  // nobody drains
  EXPECT_EQ(hub_.size(), 0u);
  auto out = sink->Drain();
  ASSERT_GE(out.size(), 2u);
  const auto& last = out.back();
  ASSERT_TRUE(last.has_watch());
  EXPECT_TRUE(last.watch().canceled());
  EXPECT_EQ(last.watch().cancel_reason().code(), coord::v1::UNAVAILABLE);
  // Exactly the bounded number of events was queued before the cancel.
  EXPECT_EQ(out.size(), 1u + 3u + 1u);
}

TEST_F(WatchHubTest, PrevKvIsStrippedUnlessAsked) {
  Apply(PutCmd("/v", "old"));
  auto with = std::make_shared<FakeSink>(1);
  auto without = std::make_shared<FakeSink>(2);
  coord::v1::WatchCreateRequest req;
  req.set_key("/v");
  Create(without, 1, req);
  req.set_prev_kv(true);
  Create(with, 1, req);
  Apply(PutCmd("/v", "new"));
  auto a = with->Drain();
  auto b = without->Drain();
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[1].watch().events(0).prev_kv().value(), "old");
  EXPECT_FALSE(b[1].watch().events(0).has_prev_kv());
}

TEST_F(WatchHubTest, BadWatchAndLimitsAreErrorsNotWatches) {
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest bad;  // empty key without prefix
  Create(sink, 5, bad);
  coord::v1::WatchCreateRequest ok;
  ok.set_key("/x");
  for (int i = 0; i < 5; ++i) Create(sink, 6 + i, ok);  // limit 4 per connection
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].response().error().code(), coord::v1::INVALID_ARGUMENT);
  EXPECT_EQ(out[5].response().error().code(), coord::v1::RESOURCE_EXHAUSTED);
  EXPECT_EQ(hub_.size(), 4u);
  hub_.RemoveConnection(1);
  EXPECT_EQ(hub_.size(), 0u);
}

TEST_F(WatchHubTest, CancelOnlyOwnWatches) {
  auto a = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/c");
  Create(a, 1, req);
  const int64_t wid = a->Drain()[0].response().watch_create().watch_id();
  EXPECT_FALSE(hub_.Cancel(2, wid));
  EXPECT_TRUE(hub_.Cancel(1, wid));
  EXPECT_FALSE(hub_.Cancel(1, wid));
  Apply(PutCmd("/c", "after cancel"));
  EXPECT_TRUE(a->Drain().empty());
}

TEST_F(WatchHubTest, CompactedStartRevisionIsRefused) {
  for (int i = 0; i < 5; ++i) Apply(PutCmd("/z", std::to_string(i)));
  coord::state::Command compact;
  compact.mutable_compact()->set_revision(3);
  Apply(compact);
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/z");
  req.set_start_revision(2);
  Create(sink, 1, req);
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].response().error().code(), coord::v1::COMPACTED);
  EXPECT_EQ(hub_.size(), 0u);
}

}  // namespace
}  // namespace coord::server

namespace coord::server {
namespace {

TEST(WatchHubProgressTest, ProgressGoesOnlyToWatchesThatAskedForIt) {
  WatchHub hub(WatchHubOptions{});
  StateAdapter adapter({}, &hub, nullptr);
  auto asked = std::make_shared<FakeSink>(1);
  auto silent = std::make_shared<FakeSink>(2);
  coord::v1::WatchCreateRequest req;
  req.set_key("/p");
  adapter.Read([&](const StateMachine& sm) {
    hub.Create(silent, 1, req, false, sm, coord::v1::ResponseHeader());
    req.set_progress_notify(true);
    hub.Create(asked, 1, req, false, sm, coord::v1::ResponseHeader());
    return 0;
  });
  hub.NotifyProgress(17);
  auto a = asked->Drain();
  auto s = silent->Drain();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1].watch().revision(), 17);
  EXPECT_EQ(a[1].watch().events_size(), 0);
  EXPECT_FALSE(a[1].watch().canceled());
  EXPECT_EQ(s.size(), 1u);
}

// Defect 9: the service read the revision, then notified outside the state lock,
// so a notification could follow newer events and go backwards.
TEST_F(WatchHubTest, ProgressNeverGoesBehindDeliveredEvents) {
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/pp");
  req.set_progress_notify(true);
  Create(sink, 1, req);
  Apply(PutCmd("/pp", "a"));
  Apply(PutCmd("/pp", "b"));
  hub_.NotifyProgress(1);  // read before the second put was dispatched
  hub_.NotifyProgress(2);
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 4u);  // reply, two events, one progress
  EXPECT_EQ(out[2].watch().revision(), 2);
  EXPECT_EQ(out[3].watch().events_size(), 0);
  EXPECT_EQ(out[3].watch().revision(), 2);
}

TEST(WatchHubProgressTest, CancelAllTellsEveryWatcherWhy) {
  WatchHub hub(WatchHubOptions{});
  StateAdapter adapter({}, &hub, nullptr);
  auto sink = std::make_shared<FakeSink>(1);
  coord::v1::WatchCreateRequest req;
  req.set_key("/q");
  adapter.Read([&](const StateMachine& sm) {
    hub.Create(sink, 1, req, false, sm, coord::v1::ResponseHeader());
    return 0;
  });
  // Restoring a snapshot replaces the state under live watches: they are cancelled.
  StateAdapter other({}, nullptr, nullptr);
  ASSERT_TRUE(adapter.Restore(other.Snapshot()).ok());
  auto out = sink->Drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].watch().canceled());
  EXPECT_EQ(out[1].watch().cancel_reason().code(), coord::v1::UNAVAILABLE);
  EXPECT_EQ(hub.size(), 0u);
}

}  // namespace
}  // namespace coord::server
