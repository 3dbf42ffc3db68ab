// Unit tests of coord-bench's pure parts: flag parsing, latency statistics, the
// measured-window filter, failover's unavailability and the JSON line, workloads.
#include <gtest/gtest.h>

#include <set>

#include "options.h"
#include "report.h"
#include "workload.h"

namespace coord::bench {
namespace {

Result<Options> Parse(std::vector<std::string> args) { return ParseOptions(args); }

TEST(OptionsTest, DefaultsAndFlags) {
  auto o = Parse({"write", "--endpoints", "127.0.0.1:1,127.0.0.2:2", "--clients=16", "--warmup",
                  "0.5", "--duration", "2", "--value-size", "10"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->mode, Mode::kWrite);
  EXPECT_EQ(o->endpoints, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.2:2"}));
  EXPECT_EQ(o->clients, 16);
  EXPECT_DOUBLE_EQ(o->warmup_s, 0.5);
  EXPECT_DOUBLE_EQ(o->duration_s, 2);
  EXPECT_EQ(o->value_size, 10);
  auto d = Parse({"read", "--serializable"});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->serializable);
  EXPECT_EQ(d->endpoints, std::vector<std::string>{"127.0.0.1:7420"});
  EXPECT_EQ(d->clients, 1);
  EXPECT_EQ(d->value_size, 256);
}

TEST(OptionsTest, ModeSpecificFlags) {
  auto fill = Parse({"fill", "--count", "10000"});
  ASSERT_TRUE(fill.ok());
  EXPECT_EQ(fill->count, 10000);
  auto f = Parse({"failover", "--endpoints", "127.0.0.1:1,127.0.0.2:2", "--kill-pid", "1234",
                  "--kill-endpoint", "127.0.0.1:1"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->kill_pid, 1234);
  EXPECT_EQ(f->kill_endpoint, "127.0.0.1:1");
  EXPECT_TRUE(Parse({"x", "--help"})->help);
  auto lock = Parse({"lock", "--clients", "8", "--warmup", "1", "--duration", "4"});
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  EXPECT_EQ(lock->mode, Mode::kLock);
  EXPECT_EQ(lock->clients, 8);
  EXPECT_EQ(lock->duration_s, 4.0);
}

TEST(OptionsTest, BadInputIsAClearError) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"bogus"},
      {"write", "--clients", "0"},
      {"write", "--clients", "abc"},
      {"write", "--clients"},
      {"write", "--duration", "-1"},
      {"write", "--warmup", "nan"},
      {"write", "--endpoints", "localhost:7420"},
      {"write", "--endpoints", "127.0.0.1:99999"},
      {"write", "--endpoints", "127.0.0.1"},
      {"write", "--endpoints", ""},
      {"write", "--frobnicate", "1"},
      {"write", "stray"},
      {"write", "--serializable"},
      {"fill"},
      {"write", "--count", "5"},
      {"failover", "--kill-pid", "123"},
      {"failover", "--kill-endpoint", "127.0.0.1:7420"},
      {"failover", "--kill-pid", "123", "--kill-endpoint", "127.0.0.1:7420"},  // no others
      {"write", "--kill-pid", "123"},
      {"lock", "--count", "5"},
      {"lock", "--serializable"},
      {"lock", "--clients", "0"},
  };
  for (const auto& args : bad) {
    auto o = Parse(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    ASSERT_FALSE(o.ok()) << joined;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << joined;
    EXPECT_FALSE(o.status().message().empty()) << joined;
    EXPECT_EQ(o.status().message().find('\n'), std::string::npos) << joined;
  }
}

TEST(ReportTest, SummarizeNearestRank) {
  std::vector<int64_t> us;
  for (int i = 1000; i >= 1; --i) us.push_back(i * 1000);  // 1..1000 ms, reversed
  const LatencySummary s = Summarize(us);
  EXPECT_EQ(s.count, 1000);
  EXPECT_DOUBLE_EQ(s.mean_ms, 500.5);
  EXPECT_DOUBLE_EQ(s.p50_ms, 500);
  EXPECT_DOUBLE_EQ(s.p90_ms, 900);
  EXPECT_DOUBLE_EQ(s.p99_ms, 990);
  EXPECT_DOUBLE_EQ(s.p999_ms, 999);
  EXPECT_DOUBLE_EQ(s.max_ms, 1000);
  std::vector<int64_t> one{2500};
  const LatencySummary s1 = Summarize(one);
  EXPECT_DOUBLE_EQ(s1.p50_ms, 2.5);
  EXPECT_DOUBLE_EQ(s1.p999_ms, 2.5);
  std::vector<int64_t> none;
  EXPECT_EQ(Summarize(none).count, 0);
}

TEST(ReportTest, OnlyOperationsInsideTheWindowCount) {
  const int64_t ms = 1'000'000;
  const std::vector<OpRecord> records = {
      {0 * ms, 5 * ms, true},     // warmup
      {9 * ms, 11 * ms, true},    // straddles the start
      {10 * ms, 12 * ms, true},   // inside
      {15 * ms, 19 * ms, false},  // inside, failed
      {20 * ms, 30 * ms, true},   // ends exactly at the end: inside
      {25 * ms, 31 * ms, true},   // straddles the end
      {31 * ms, 32 * ms, false},  // after
  };
  const RunReport r = BuildReport("write", 4, records, 10 * ms, 30 * ms);
  EXPECT_EQ(r.ops, 2);
  EXPECT_EQ(r.errors, 1);
  EXPECT_DOUBLE_EQ(r.secs, 0.02);
  EXPECT_DOUBLE_EQ(r.latency.max_ms, 10);
  EXPECT_DOUBLE_EQ(r.latency.mean_ms, 6);
}

TEST(ReportTest, UnavailableIsKillToFirstSuccessStartedAfterIt) {
  const int64_t ms = 1'000'000;
  const std::vector<OpRecord> records = {
      {90 * ms, 1500 * ms, true},    // started before the kill: does not count
      {101 * ms, 900 * ms, false},   // failed
      {950 * ms, 1400 * ms, true},   // first success started after the kill
      {1000 * ms, 1300 * ms, true},  // finishes earlier: this one
  };
  EXPECT_DOUBLE_EQ(UnavailableMs(records, 100 * ms), 1200);
  EXPECT_DOUBLE_EQ(UnavailableMs({{0, 5, true}}, 100 * ms), -1);
}

TEST(ReportTest, JsonLineHasTheDocumentedFieldsInOrder) {
  RunReport r;
  r.workload = "write";
  r.clients = 16;
  r.ops = 1000;
  r.secs = 2;
  r.latency.mean_ms = 1.5;
  r.latency.p50_ms = 1.25;
  r.latency.max_ms = 9;
  r.errors = 3;
  EXPECT_EQ(FormatJson(r),
            "{\"system\":\"coord\",\"workload\":\"write\",\"clients\":16,\"ops\":1000,"
            "\"secs\":2.000,\"ops_per_s\":500.0,\"mean_ms\":1.500,\"p50_ms\":1.250,"
            "\"p90_ms\":0.000,\"p99_ms\":0.000,\"p999_ms\":0.000,\"max_ms\":9.000,"
            "\"errors\":3}");
  r.unavailable_ms = 1234.5;
  const std::string j = FormatJson(r);
  EXPECT_TRUE(j.ends_with(",\"errors\":3,\"unavailable_ms\":1234.5}")) << j;
}

TEST(WorkloadTest, WriteKeysAreDistinctAcrossClients) {
  WriteWorkload w("/p", MakeValue(256, 7));
  std::set<std::string> keys;
  for (int c = 0; c < 3; ++c) {
    ClientContext ctx;
    ctx.index = c;
    for (int i = 0; i < 100; ++i) {
      coord::v1::Request req;
      ASSERT_TRUE(w.Next(ctx, &req));
      ++ctx.issued;
      EXPECT_EQ(req.put().value().size(), 256u);
      keys.insert(req.put().key());
    }
  }
  EXPECT_EQ(keys.size(), 300u);
}

TEST(WorkloadTest, ReadStaysInsideThePreloadedKeys) {
  ReadWorkload r("/r", 10, true);
  ClientContext ctx;
  ctx.rng.seed(1);
  std::set<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    coord::v1::Request req;
    ASSERT_TRUE(r.Next(ctx, &req));
    EXPECT_TRUE(req.range().serializable());
    keys.insert(req.range().key());
  }
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_EQ(*keys.begin(), IndexedKey("/r", 0));
  EXPECT_EQ(*keys.rbegin(), IndexedKey("/r", 9));
}

TEST(WorkloadTest, FillRetriesFailuresAndLoadsEachKeyOnce) {
  FillWorkload f("/f", 5, "v");
  ClientContext a;
  ClientContext b;
  std::multiset<std::string> written;
  coord::v1::Request req;
  ASSERT_TRUE(f.Next(a, &req));
  const std::string failed_key = req.put().key();
  f.Done(a, false);  // a's put fails: the key goes back
  int rounds = 0;
  while (!f.Finished() && rounds++ < 20) {
    ClientContext& c = rounds % 2 ? a : b;
    coord::v1::Request r;
    if (!f.Next(c, &r)) continue;
    written.insert(r.put().key());
    f.Done(c, true);
  }
  EXPECT_TRUE(f.Finished());
  EXPECT_EQ(f.succeeded(), 5);
  EXPECT_EQ(written.size(), 5u);
  EXPECT_EQ(written.count(failed_key), 1u);
  coord::v1::Request r;
  EXPECT_FALSE(f.Next(a, &r));
}

TEST(WorkloadTest, SessionsFillCreatesSessionsOfTheGivenTtlInsteadOfPuts) {
  FillWorkload f("/s", 2, "v", 3'600'000);
  ClientContext a;
  coord::v1::Request r;
  ASSERT_TRUE(f.Next(a, &r));
  EXPECT_TRUE(r.has_session_create());
  EXPECT_FALSE(r.has_put());
  EXPECT_EQ(r.session_create().ttl_ms(), 3'600'000);
  f.Done(a, true);
  coord::v1::Request r2;
  ASSERT_TRUE(f.Next(a, &r2));
  f.Done(a, true);
  EXPECT_TRUE(f.Finished());
}

// Drives one client of the lock workload through a reply.
Step Reply(LockWorkload& w, ClientContext& c, coord::v1::Response response) {
  return w.OnReply(c, response);
}

TEST(WorkloadTest, LockCycleCreatesSessionThenAcquiresWaitsAndReleases) {
  LockWorkload w("/l", 9000, 5000);
  ClientContext c;
  coord::v1::Request req;
  ASSERT_TRUE(w.Next(c, &req));  // no session yet: create one (bookkeeping)
  ASSERT_TRUE(req.has_session_create());
  EXPECT_EQ(req.session_create().ttl_ms(), 9000);
  EXPECT_TRUE(c.untimed);
  coord::v1::Response created;
  created.mutable_session_create()->set_session_id(42);
  created.mutable_session_create()->set_ttl_ms(9000);
  EXPECT_EQ(Reply(w, c, created), Step::kOk);
  w.Done(c, true);
  EXPECT_EQ(c.keepalive_due_ns, 3'000'000'000);

  // A cycle: acquire queued, an unrelated push is ignored, our grant -> release.
  c.now_ns = 1;
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  ASSERT_TRUE(req.has_lock_acquire());
  EXPECT_FALSE(c.untimed);
  EXPECT_EQ(req.lock_acquire().name(), "/l");
  EXPECT_EQ(req.lock_acquire().session(), 42);
  EXPECT_TRUE(req.lock_acquire().wait());
  EXPECT_EQ(req.lock_acquire().wait_timeout_ms(), 5000);
  coord::v1::Response queued;
  queued.mutable_lock_acquire()->set_position(1);
  queued.mutable_lock_acquire()->set_acquire_index(77);
  EXPECT_EQ(Reply(w, c, queued), Step::kWait);
  coord::v1::ServerMessage push;
  push.mutable_lock()->set_name("/l");
  push.mutable_lock()->set_session(42);
  push.mutable_lock()->set_acquire_index(76);  // an older acquire's event
  push.mutable_lock()->set_granted(true);
  EXPECT_EQ(w.OnPush(c, push), Step::kIgnore);
  push.mutable_lock()->set_acquire_index(77);
  EXPECT_EQ(w.OnPush(c, push), Step::kNext);
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  ASSERT_TRUE(req.has_lock_release());
  EXPECT_EQ(req.lock_release().session(), 42);
  coord::v1::Response released;
  released.mutable_lock_release()->set_was_holder(true);
  EXPECT_EQ(Reply(w, c, released), Step::kOk);
  w.Done(c, true);

  // Granted at once: straight to the release.
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  ASSERT_TRUE(req.has_lock_acquire());
  coord::v1::Response granted;
  granted.mutable_lock_acquire()->set_granted(true);
  granted.mutable_lock_acquire()->set_token(9);
  EXPECT_EQ(Reply(w, c, granted), Step::kNext);
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  EXPECT_TRUE(req.has_lock_release());
  released.mutable_lock_release()->set_was_holder(false);  // lost the lock meanwhile
  EXPECT_EQ(Reply(w, c, released), Step::kFailed);
  w.Done(c, false);

  // After a failed cycle: a cleanup release first; NOT_FOUND there is fine.
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  ASSERT_TRUE(req.has_lock_release());
  EXPECT_TRUE(c.untimed);
  coord::v1::Response not_found;
  not_found.mutable_error()->set_code(coord::v1::NOT_FOUND);
  EXPECT_EQ(Reply(w, c, not_found), Step::kOk);
  w.Done(c, true);

  // Keepalive once due; an expired session is created again.
  c.now_ns = 3'000'000'000;
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  ASSERT_TRUE(req.has_session_keepalive());
  EXPECT_EQ(req.session_keepalive().session_id(), 42);
  coord::v1::Response expired;
  expired.mutable_error()->set_code(coord::v1::SESSION_EXPIRED);
  EXPECT_EQ(Reply(w, c, expired), Step::kFailed);
  w.Done(c, false);
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  EXPECT_TRUE(req.has_session_create());
}

TEST(WorkloadTest, LockWaitThatEndsWithoutGrantFails) {
  LockWorkload w("/l", 10000, 100);
  ClientContext c;
  c.session = 5;
  c.keepalive_due_ns = INT64_MAX;
  coord::v1::Request req;
  ASSERT_TRUE(w.Next(c, &req));
  coord::v1::Response queued;
  queued.mutable_lock_acquire()->set_acquire_index(3);
  ASSERT_EQ(w.OnReply(c, queued), Step::kWait);
  coord::v1::ServerMessage push;
  push.mutable_lock()->set_name("/l");
  push.mutable_lock()->set_session(5);
  push.mutable_lock()->set_acquire_index(3);
  push.mutable_lock()->mutable_error()->set_code(coord::v1::TIMEOUT);
  EXPECT_EQ(w.OnPush(c, push), Step::kFailed);
  w.Done(c, false);
  req.Clear();
  ASSERT_TRUE(w.Next(c, &req));
  EXPECT_TRUE(req.has_lock_release());  // withdraw whatever may remain
  EXPECT_EQ(c.session, 5);
}

}  // namespace
}  // namespace coord::bench
