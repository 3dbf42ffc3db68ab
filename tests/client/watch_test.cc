// Watches through the client library: delivery in revision order, resumption
// without gaps or duplicates across reconnects and member kills, COMPACTED.
#include "coord/client/watch.h"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "env.h"

namespace coord::test {
namespace {

struct Collector {
  std::mutex mu;
  std::vector<int64_t> revisions;  // one per delivered batch with events
  std::vector<std::string> keys;
  std::atomic<bool> ended{false};
  Status end;
  bool on_executor = true;

  Watch::EventCallback Events(Client& c) {
    return [this, &c](const coord::v1::WatchEvent& e) {
      std::lock_guard lock(mu);
      if (!c.executor().InExecutorThread()) on_executor = false;
      if (e.events_size() == 0) return;
      revisions.push_back(e.revision());
      for (const auto& ev : e.events()) keys.push_back(ev.kv().key());
    };
  }
  Watch::EndCallback End() {
    return [this](const Status& s) {
      std::lock_guard lock(mu);
      end = s;
      ended = true;
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return revisions.size();
  }
};

TEST(ClientWatch, DeliversFromNowAndFromAPastRevision) {
  auto c = NewClient();
  const std::string prefix = Fresh("/watch/basic") + "/";
  auto first = c->Put(prefix + "a", "1");
  ASSERT_TRUE(first.ok());
  Collector now, past;
  Watch::Options o;
  o.key = prefix;
  o.prefix = true;
  auto w_now = Watch::Create(*c, o, now.Events(*c), now.End());
  ASSERT_TRUE(w_now.ok()) << w_now.status();
  o.start_revision = first->revision();
  auto w_past = Watch::Create(*c, o, past.Events(*c), past.End());
  ASSERT_TRUE(w_past.ok()) << w_past.status();
  auto second = c->Put(prefix + "b", "2");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(WaitFor([&] { return now.size() >= 1 && past.size() == 2; }, 10s));
  std::lock_guard l1(now.mu), l2(past.mu);
  // "Now" is the serving member's revision at creation: a follower that had not
  // applied the first put yet also delivers it.
  ASSERT_LE(now.revisions.size(), 2u);
  EXPECT_EQ(now.revisions.back(), second->revision());
  EXPECT_EQ(past.revisions, (std::vector<int64_t>{first->revision(), second->revision()}));
  EXPECT_TRUE(now.on_executor);
  EXPECT_EQ((*w_now)->last_revision(), second->revision());
}

TEST(ClientWatch, ResumesWithoutGapsOrDuplicatesAcrossKillsAndBreaks) {
  auto watcher = NewClient();
  auto writer = NewClient();
  ASSERT_TRUE(watcher->WaitConnected(5s).ok());
  const std::string prefix = Fresh("/watch/resume") + "/";
  Collector got;
  Watch::Options o;
  o.key = prefix;
  o.prefix = true;
  auto w = Watch::Create(*watcher, o, got.Events(*watcher), got.End());
  ASSERT_TRUE(w.ok()) << w.status();

  std::mutex mu;
  std::vector<int64_t> written;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread t([&] {
    for (int i = 0; !stop; ++i) {
      auto r = writer->Put(prefix + std::to_string(i), "v", 0, 10s);
      if (!r.ok()) {
        failures.fetch_add(1);
        continue;
      }
      std::lock_guard lock(mu);
      written.push_back(r->revision());
    }
  });
  auto written_count = [&] {
    std::lock_guard lock(mu);
    return written.size();
  };
  ASSERT_TRUE(WaitFor([&] { return written_count() >= 30; }, 10s));
  // 1: a plain reconnect of the watcher.
  watcher->TEST_BreakConnection();
  ASSERT_TRUE(WaitFor([&] { return written_count() >= 60; }, 10s));
  // 2: kill the member the watcher is connected to.
  const int victim = watcher->connected_endpoint();
  ASSERT_GE(victim, 0);
  g_client_ensemble->Kill(victim);
  ASSERT_TRUE(WaitFor([&] { return (*w)->registrations() >= 3; }, 15s));
  const size_t at_kill = written_count();
  ASSERT_TRUE(WaitFor([&] { return written_count() >= at_kill + 40; }, 20s));
  stop = true;
  t.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<int64_t> expected;
  {
    std::lock_guard lock(mu);
    expected = written;
  }
  ASSERT_TRUE(WaitFor([&] { return got.size() >= expected.size(); }, 15s));
  std::lock_guard lock(got.mu);
  EXPECT_EQ(got.revisions, expected);  // every write once, in order, no gap
  EXPECT_FALSE(got.ended.load());
  EnsureRunning(victim);
}

TEST(ClientWatch, CompactedStartIsReportedAndBadRequestsRefused) {
  auto c = NewClient();
  const std::string k = Fresh("/watch/compacted");
  auto p1 = c->Put(k, "1");
  ASSERT_TRUE(p1.ok());
  auto p2 = c->Put(k, "2");
  ASSERT_TRUE(p2.ok());
  ASSERT_TRUE(c->Compact(p2->revision()).ok());
  Collector got;
  Watch::Options o;
  o.key = k;
  o.start_revision = p1->revision();
  // The member serving the watch may apply the compaction a moment later.
  Status last;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto w = Watch::Create(*c, o, got.Events(*c), got.End());
        last = w.status();
        return last.code() == StatusCode::kCompacted;
      },
      5s))
      << last;
  Watch::Options empty;
  EXPECT_EQ(Watch::Create(*c, empty, got.Events(*c)).status().code(), StatusCode::kInvalidArgument);
}

// A watch that must resume below the compacted revision ends with COMPACTED.
TEST(ClientWatch, ResumeBelowCompactionEndsTheWatch) {
  auto watcher = NewClient();
  auto other = NewClient();
  const std::string k = Fresh("/watch/resume-compacted");
  Collector got;
  Watch::Options o;
  o.key = k;
  auto w = Watch::Create(*watcher, o, got.Events(*watcher), got.End());
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(other->Put(k, "1").ok());
  ASSERT_TRUE(WaitFor([&] { return got.size() == 1; }, 10s));
  // While the watcher is cut off, the key changes and history is compacted.
  watcher->TEST_StallIo(true);
  auto p2 = other->Put(k, "2");
  ASSERT_TRUE(p2.ok());
  auto p3 = other->Put(Fresh("/watch/other"), "3");
  ASSERT_TRUE(p3.ok());
  ASSERT_TRUE(other->Compact(p3->revision()).ok());
  watcher->TEST_BreakConnection();  // resumes at p2's revision, now compacted...
  watcher->TEST_StallIo(false);
  // ...unless the event of p2 was already buffered before the stall; either the
  // watch ends with COMPACTED or it delivered p2.
  ASSERT_TRUE(WaitFor([&] { return got.ended.load() || got.size() == 2; }, 10s));
  if (got.ended.load()) {
    std::lock_guard lock(got.mu);
    EXPECT_EQ(got.end.code(), StatusCode::kCompacted) << got.end;
  }
}

}  // namespace
}  // namespace coord::test

namespace coord::test {
namespace {

// RequestProgress answers with a revision R only after every event up to R was
// handed to on_events: a handler that saw nothing of a write before R is a bug.
TEST(ClientWatch, RequestProgressAnswersAfterEveryEventUpToItsRevision) {
  auto writer = NewClient(g_client_ensemble->member(0).client_address);
  auto c = NewClient(g_client_ensemble->member(1).client_address);
  const std::string prefix = Fresh("/watch/progress") + "/";
  Collector seen;
  Watch::Options o;
  o.key = prefix;
  o.prefix = true;
  auto w = Watch::Create(*c, o, seen.Events(*c), seen.End());
  ASSERT_TRUE(w.ok()) << w.status();
  for (int i = 0; i < 20; ++i) {
    auto put = writer->Put(prefix + std::to_string(i), "v");
    ASSERT_TRUE(put.ok());
    std::promise<Result<int64_t>> answered;
    (*w)->RequestProgress([&](Result<int64_t> r) { answered.set_value(r); });
    auto r = answered.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GE(*r, put->revision());
    EXPECT_EQ(seen.size(), static_cast<size_t>(i + 1)) << "every event up to R came first";
    EXPECT_GE((*w)->last_revision(), *r);
  }
}

}  // namespace
}  // namespace coord::test
