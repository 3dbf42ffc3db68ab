// Unit tests of the client's pure parts: back-off, fencing verifier, the lost
// deadline arithmetic, the executor's ordering, endpoint parsing, error mapping.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "backoff.h"
#include "coord/client/client.h"
#include "coord/client/error.h"
#include "coord/client/executor.h"
#include "coord/client/fencing.h"
#include "coord/client/session.h"

namespace coord {
namespace {

using client_internal::Backoff;
using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCapWithJitterInTheUpperHalf) {
  Backoff b(milliseconds(20), milliseconds(300), 42);
  const int64_t expected_base[] = {20, 40, 80, 160, 300, 300, 300};
  for (int64_t base : expected_base) {
    EXPECT_EQ(b.Base().count(), base);
    const int64_t d = b.Next().count();
    EXPECT_GE(d, base / 2);
    EXPECT_LE(d, base);
  }
  b.Reset();
  EXPECT_EQ(b.Base().count(), 20);
}

TEST(Backoff, SameSeedSameDelaysAndJitterVaries) {
  Backoff a(milliseconds(100), milliseconds(100), 7);
  Backoff b(milliseconds(100), milliseconds(100), 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    const int64_t x = a.Next().count();
    EXPECT_EQ(x, b.Next().count());
    seen.insert(x);
  }
  EXPECT_GT(seen.size(), 5u);  // jittered, not constant
}

TEST(Backoff, ManyFailuresDoNotOverflow) {
  Backoff b(milliseconds(1), milliseconds(1000), 1);
  for (int i = 0; i < 200; ++i) b.Next().count();
  EXPECT_EQ(b.Base().count(), 1000);
}

TEST(FencingVerifier, AcceptsEqualAndHigherRejectsLower) {
  FencingVerifier v;
  EXPECT_TRUE(v.Check(5).ok());
  EXPECT_TRUE(v.Check(5).ok());  // the same holder again
  EXPECT_TRUE(v.Check(7).ok());
  Status stale = v.Check(6);
  EXPECT_EQ(stale.code(), StatusCode::kConflict);
  EXPECT_NE(stale.message().find("stale"), std::string::npos);
  EXPECT_EQ(v.highest(), 7);
  EXPECT_EQ(v.Check(0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v.Check(-3).code(), StatusCode::kInvalidArgument);
  v.Observe(10);
  EXPECT_EQ(v.Check(9).code(), StatusCode::kConflict);
  v.Observe(4);  // never lowers
  EXPECT_EQ(v.highest(), 10);
  FencingVerifier seeded(3);
  EXPECT_EQ(seeded.Check(2).code(), StatusCode::kConflict);
}

TEST(FencingVerifier, ConcurrentChecksEndAtTheHighestToken) {
  FencingVerifier v;
  std::vector<std::thread> threads;
  std::atomic<int64_t> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 1; i <= 20000; ++i) {
        if (v.Check(i * 4 + t).ok()) accepted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(v.highest(), 20000 * 4 + 3);  // the highest token can never be refused
  EXPECT_GE(accepted.load(), 20000);  // at least one thread's run was all accepted
  EXPECT_EQ(v.Check(v.highest() - 1).code(), StatusCode::kConflict);
}

TEST(SessionDeadline, MarginAndLostDeadline) {
  using D = Session::Duration;
  EXPECT_EQ(Session::DefaultSafetyMargin(D(10'000)), D(1'000));
  EXPECT_EQ(Session::DefaultSafetyMargin(D(1'000)), D(100));
  EXPECT_EQ(Session::DefaultSafetyMargin(D(500)), D(100));  // floor for tiny TTLs
  const auto t0 = Session::Clock::now();
  const auto deadline = Session::LostDeadline(t0, D(3000), D(300));
  EXPECT_EQ(deadline - t0, D(2700));
  // Strictly before the earliest possible expiry (the keepalive was applied
  // after it was sent, and the ensemble waits a full TTL from there).
  EXPECT_LT(deadline, t0 + D(3000));
}

TEST(Executor, RunsTasksInPostOrderOneAtATime) {
  Executor ex;
  std::mutex mu;
  std::map<int, std::vector<int>> per_thread;
  std::atomic<int> running{0};
  std::atomic<bool> overlap{false};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        ex.Post([&, t, i] {
          if (running.fetch_add(1) != 0) overlap = true;
          {
            std::lock_guard lock(mu);
            per_thread[t].push_back(i);
          }
          EXPECT_TRUE(ex.InExecutorThread());
          running.fetch_sub(1);
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  ex.Drain();
  EXPECT_FALSE(overlap);
  ASSERT_EQ(per_thread.size(), 4u);
  for (auto& [t, seq] : per_thread) {
    ASSERT_EQ(seq.size(), 500u);
    for (int i = 0; i < 500; ++i) EXPECT_EQ(seq[i], i) << "thread " << t;
  }
  EXPECT_FALSE(ex.InExecutorThread());
}

TEST(Executor, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    Executor ex;
    for (int i = 0; i < 100; ++i) ex.Post([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(Endpoints, ParsesListsAndRejectsBadItems) {
  auto ok = ParseEndpoints("127.0.0.1:7420, 127.0.0.2:7420,localhost:1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[1], "127.0.0.2:7420");
  EXPECT_EQ(ParseEndpoints("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEndpoints("a:1,,b:2").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEndpoints("nohost").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEndpoints("h:0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEndpoints("h:70000").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEndpoints("h:12x").status().code(), StatusCode::kInvalidArgument);
  ClientOptions o;
  o.endpoints = "127.0.0.1:1";
  o.write_lanes = 0;
  EXPECT_EQ(Client::Create(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(ErrorMapping, ServerCodesBecomeStatusCodes) {
  coord::v1::Error e;
  e.set_code(coord::v1::COMPACTED);
  e.set_message("revision 3 is compacted");
  e.set_compacted_revision(9);
  Status s = StatusFromError(e);
  EXPECT_EQ(s.code(), StatusCode::kCompacted);
  EXPECT_NE(s.message().find("compacted revision 9"), std::string::npos);
  const std::pair<coord::v1::ErrorCode, StatusCode> pairs[] = {
      {coord::v1::INVALID_ARGUMENT, StatusCode::kInvalidArgument},
      {coord::v1::NOT_FOUND, StatusCode::kNotFound},
      {coord::v1::SESSION_EXPIRED, StatusCode::kSessionExpired},
      {coord::v1::CONFLICT, StatusCode::kConflict},
      {coord::v1::TIMEOUT, StatusCode::kTimeout},
      {coord::v1::UNAVAILABLE, StatusCode::kUnavailable},
      {coord::v1::TOO_LARGE, StatusCode::kTooLarge},
      {coord::v1::PERMISSION_DENIED, StatusCode::kPermissionDenied},
      {coord::v1::UNAUTHENTICATED, StatusCode::kUnauthenticated},
      {coord::v1::RESOURCE_EXHAUSTED, StatusCode::kResourceExhausted},
      {coord::v1::INTERNAL, StatusCode::kInternal},
  };
  for (auto [wire, code] : pairs) {
    EXPECT_EQ(StatusCodeFromWire(wire), code);
    EXPECT_EQ(WireFromStatusCode(code), wire);
  }
  EXPECT_EQ(StatusCodeFromWire(static_cast<coord::v1::ErrorCode>(99)), StatusCode::kInternal);
  coord::v1::Error ok;
  EXPECT_TRUE(StatusFromError(ok).ok());
}

TEST(Client, CallsFailAtTheirDeadlineWhenNothingListens) {
  ClientOptions o;
  o.endpoints = "127.0.0.9:1";  // nothing listens there
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok());
  const auto start = std::chrono::steady_clock::now();
  auto r = (*c)->Put("/k", "v", 0, milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout) << r.status();
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(2000));
  coord::v1::Request empty;
  EXPECT_EQ((*c)->Call(empty).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coord
