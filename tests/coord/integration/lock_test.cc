// Integration: locks over WebSocket on the real 3-member ensemble — routing from
// every member, pushed grants and wait ends, fencing, failover and restart.
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lock_util.h"

namespace coord::test {
namespace {

TEST(Locks, TryAcquireConflictsAndInspectShowsTheHolder) {
  const std::string n_try = Fresh("/l/try");
  auto a = Connect(AFollower());
  auto b = Connect(Leader());
  const int64_t sa = NewSession(*a), sb = NewSession(*b);
  Response ra = Acquire(*a, n_try, sa, false);
  ASSERT_TRUE(Ok(ra)) << ra.DebugString();
  ASSERT_TRUE(ra.lock_acquire().granted());
  const int64_t token = ra.lock_acquire().token();
  EXPECT_GT(token, 0);

  Response rb = Acquire(*b, n_try, sb, false);
  ASSERT_TRUE(rb.has_error());
  EXPECT_EQ(rb.error().code(), coord::v1::CONFLICT) << rb.DebugString();

  Response info = Inspect(*b, n_try);
  ASSERT_TRUE(Ok(info)) << info.DebugString();
  ASSERT_EQ(info.lock_inspect().lock().holders_size(), 1);
  EXPECT_EQ(info.lock_inspect().lock().holders(0).session(), sa);
  EXPECT_EQ(info.lock_inspect().lock().token(), token);

  Response rel = Release(*a, n_try, sa);
  ASSERT_TRUE(Ok(rel)) << rel.DebugString();
  EXPECT_TRUE(rel.lock_release().was_holder());
  rb = Acquire(*b, n_try, sb, false);
  ASSERT_TRUE(Ok(rb)) << rb.DebugString();
  ASSERT_TRUE(rb.lock_acquire().granted());
  EXPECT_EQ(rb.lock_acquire().token(), token + 1);

  Request list;
  list.mutable_lock_list()->set_prefix(n_try);
  auto l = a->Call(list);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(Ok(*l)) << l->DebugString();
  ASSERT_EQ(l->lock_list().locks_size(), 1);
  EXPECT_EQ(l->lock_list().locks(0).holders(0).session(), sb);
}

TEST(Locks, QueuedWaiterGetsThePushedGrantAfterItsReply) {
  const std::string n_push = Fresh("/l/push");
  auto a = Connect(Leader());
  auto b = Connect(AFollower());
  const int64_t sa = NewSession(*a), sb = NewSession(*b);
  const int64_t ta = AcquireBlocking(*a, n_push, sa, 5s);
  ASSERT_GT(ta, 0);
  Response q = Acquire(*b, n_push, sb, true);
  ASSERT_TRUE(Ok(q)) << q.DebugString();
  ASSERT_FALSE(q.lock_acquire().granted());
  EXPECT_EQ(q.lock_acquire().position(), 1);
  ASSERT_TRUE(Ok(Release(*a, n_push, sa)));
  auto e = WaitLockEvent(*b, q.lock_acquire().acquire_index(), 5s);
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->granted());
  EXPECT_EQ(e->token(), ta + 1);
  EXPECT_EQ(e->session(), sb);
  EXPECT_EQ(e->name(), n_push);
  // Ordering: the reply to the acquire precedes its event on the connection.
  int reply_at = -1, event_at = -1;
  const auto log = b->Log();
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].has_response() && log[i].response().has_lock_acquire()) reply_at = i;
    if (log[i].has_lock()) event_at = i;
  }
  EXPECT_GE(reply_at, 0);
  EXPECT_GT(event_at, reply_at);
}

TEST(Locks, WaitTimeoutEndsTheWaitWithATimeoutEvent) {
  const std::string n_timeout = Fresh("/l/timeout");
  auto a = Connect(AFollower());
  const int64_t sa = NewSession(*a), sb = NewSession(*a);
  ASSERT_GT(AcquireBlocking(*a, n_timeout, sa, 5s), 0);
  Response q = Acquire(*a, n_timeout, sb, true, 300);
  ASSERT_TRUE(Ok(q)) << q.DebugString();
  ASSERT_FALSE(q.lock_acquire().granted());
  auto e = WaitLockEvent(*a, q.lock_acquire().acquire_index(), 5s);
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->granted());
  EXPECT_EQ(e->error().code(), coord::v1::TIMEOUT) << e->DebugString();
  Response info = Inspect(*a, n_timeout);
  ASSERT_TRUE(Ok(info));
  EXPECT_EQ(info.lock_inspect().lock().waiters_size(), 0);
  EXPECT_EQ(info.lock_inspect().lock().holders(0).session(), sa);
}

// The value of an unlabelled metric on `member`, or -1.
double MetricValue(int member, const std::string& name) {
  int status = 0;
  const std::string text = HttpGet(g_ensemble->member(member).client_address, "/metrics", &status);
  const std::string needle = "\n" + name + " ";
  const auto at = text.find(needle);
  if (status != 200 || at == std::string::npos) return -1;
  return std::stod(text.substr(at + needle.size()));
}

TEST(Locks, HolderSessionExpiryHandsTheLockToTheNextWaiter) {
  const std::string n_handover = Fresh("/l/handover");
  auto b = Connect(AFollower());
  const int64_t sb = NewSession(*b);
  int64_t ta = 0;
  const int holder_member = Leader();
  const double holds_before = MetricValue(holder_member, "coord_lock_hold_seconds_count");
  ASSERT_GE(holds_before, 0);
  {
    auto a = Connect(holder_member);
    const int64_t sa = NewSession(*a, 1000);  // never kept alive: the client vanishes
    ta = AcquireBlocking(*a, n_handover, sa, 5s);
    ASSERT_GT(ta, 0);
  }
  Response q = Acquire(*b, n_handover, sb, true);
  ASSERT_TRUE(Ok(q)) << q.DebugString();
  if (!q.lock_acquire().granted()) {  // granted at once if the expiry already happened
    auto e = WaitLockEvent(*b, q.lock_acquire().acquire_index(), 8s);
    ASSERT_TRUE(e.has_value()) << "no handover after the holder's session expired";
    ASSERT_TRUE(e->granted());
    EXPECT_EQ(e->token(), ta + 1);
  } else {
    EXPECT_EQ(q.lock_acquire().token(), ta + 1);
  }
  // The member that granted the vanished holder timed its hold until the expiry.
  EXPECT_GT(MetricValue(holder_member, "coord_lock_hold_seconds_count"), holds_before);
}

TEST(Locks, StaleHolderGuardedWriteFailsWithConflict) {
  const std::string n_fence = Fresh("/l/fence");
  const std::string n_fence_data = Fresh("/l/fence-data");
  auto a = Connect(AFollower());
  auto b = Connect(Leader());
  const int64_t sa = NewSession(*a), sb = NewSession(*b);
  const int64_t ta = AcquireBlocking(*a, n_fence, sa, 5s);
  ASSERT_GT(ta, 0);
  Response ok = GuardedPut(*a, n_fence, ta, n_fence_data, "a");
  ASSERT_TRUE(Ok(ok)) << ok.DebugString();
  EXPECT_TRUE(ok.txn().succeeded());

  Request revoke;
  revoke.mutable_lock_revoke()->set_name(n_fence);
  auto rv = b->Call(revoke);
  ASSERT_TRUE(rv.ok());
  ASSERT_TRUE(Ok(*rv)) << rv->DebugString();
  ASSERT_EQ(rv->lock_revoke().revoked_sessions_size(), 1);
  EXPECT_EQ(rv->lock_revoke().revoked_sessions(0), sa);
  const int64_t tb = AcquireBlocking(*b, n_fence, sb, 5s);
  EXPECT_GT(tb, ta);

  Response stale = GuardedPut(*a, n_fence, ta, n_fence_data, "stale");
  ASSERT_TRUE(stale.has_error());
  EXPECT_EQ(stale.error().code(), coord::v1::CONFLICT) << stale.DebugString();
  Response v = Get(*b, n_fence_data);
  ASSERT_EQ(v.range().kvs_size(), 1);
  EXPECT_EQ(v.range().kvs(0).value(), "a");

  int status = 0;
  const std::string metrics =
      HttpGet(g_ensemble->member(Leader()).client_address, "/metrics", &status);
  EXPECT_EQ(status, 200);
  const std::string needle = "\ncoord_lock_fencing_rejections_total ";
  const auto at = metrics.find(needle);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GT(std::stoll(metrics.substr(at + needle.size())), 0);
}

// Many clients on all members: acquire (wait) -> guarded read-modify-write of a
// counter and a holder key -> release. A lost update or a foreign holder means
// two clients were inside at once.
TEST(Locks, MutualExclusionBetweenConcurrentClientsWithIncreasingTokens) {
  const std::string n_mutex = Fresh("/l/mutex");
  const std::string n_mutex_counter = Fresh("/l/mutex-counter");
  const std::string n_mutex_holder = Fresh("/l/mutex-holder");
  constexpr int kClients = 8;
  constexpr int kRounds = 5;
  const std::string lock = n_mutex;
  std::vector<std::vector<int64_t>> tokens(kClients);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = WsClient::Connect(g_ensemble->member(i % 3).client_address);
      if (!c.ok()) {
        failures.fetch_add(1);
        return;
      }
      WsClient& w = **c;
      const int64_t s = NewSession(w);
      const std::string me = std::to_string(i);
      for (int round = 0; round < kRounds; ++round) {
        const int64_t t = AcquireBlocking(w, lock, s, 20s);
        if (t == 0) {
          failures.fetch_add(1);
          return;
        }
        tokens[i].push_back(t);
        Response cur = Get(w, n_mutex_counter);
        const int64_t n = cur.range().kvs_size() == 0 ? 0 : std::stoll(cur.range().kvs(0).value());
        if (!Ok(GuardedPut(w, lock, t, n_mutex_holder, me))) failures.fetch_add(1);
        if (!Ok(GuardedPut(w, lock, t, n_mutex_counter, std::to_string(n + 1)))) {
          failures.fetch_add(1);
        }
        Response holder = Get(w, n_mutex_holder);
        if (holder.range().kvs_size() != 1 || holder.range().kvs(0).value() != me) {
          failures.fetch_add(1);
        }
        if (!Ok(Release(w, lock, s))) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto c = Connect(0);
  Response counter = Get(*c, n_mutex_counter);
  ASSERT_EQ(counter.range().kvs_size(), 1);
  EXPECT_EQ(counter.range().kvs(0).value(), std::to_string(kClients * kRounds));
  std::set<int64_t> all;
  for (const auto& per_client : tokens) {
    for (size_t k = 1; k < per_client.size(); ++k) EXPECT_LT(per_client[k - 1], per_client[k]);
    all.insert(per_client.begin(), per_client.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kClients * kRounds)) << "a token was issued twice";
}

TEST(Locks, JsonAcquireAndPushedGrant) {
  const std::string n_json = Fresh("/l/json");
  auto a = Connect(AFollower());
  const int64_t sa = NewSession(*a, 10'000, true), sb = NewSession(*a, 10'000, true);
  Response r = Acquire(*a, n_json, sa, false, 0, true);
  ASSERT_TRUE(Ok(r)) << r.DebugString();
  ASSERT_TRUE(r.lock_acquire().granted());
  a->SendRaw("{\"id\":\"900001\",\"lockAcquire\":{\"name\":\"" + n_json + "\",\"session\":\"" +
                 std::to_string(sb) + "\",\"wait\":true}}",
             true);
  uint64_t acquire_index = 0;
  for (int i = 0; i < 10 && acquire_index == 0; ++i) {
    auto m = a->NextAny(5s);
    ASSERT_TRUE(m.ok());
    if (m->has_response() && m->response().id() == 900001) {
      ASSERT_TRUE(Ok(m->response())) << m->DebugString();
      acquire_index = m->response().lock_acquire().acquire_index();
    }
  }
  ASSERT_NE(acquire_index, 0u);
  ASSERT_TRUE(Ok(Release(*a, n_json, sa)));
  auto e = WaitLockEvent(*a, acquire_index, 5s);
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->granted());
  EXPECT_EQ(e->token(), r.lock_acquire().token() + 1);
}

// Last in the file: kills and restarts members.
TEST(Locks, TokensKeepIncreasingAcrossLeaderKillAndFullRestart) {
  const std::string n_durable = Fresh("/l/durable");
  const std::string lock = n_durable;
  int64_t last = 0;
  {
    auto c = Connect(AFollower());
    const int64_t s = NewSession(*c);
    for (int i = 0; i < 3; ++i) {
      const int64_t t = AcquireBlocking(*c, lock, s, 5s);
      ASSERT_GT(t, last);
      last = t;
      ASSERT_TRUE(Ok(Release(*c, lock, s)));
    }
  }
  const int leader = Leader();
  g_ensemble->Kill(leader);
  {
    auto c = Connect((leader + 1) % 3);
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    int64_t s = 0;
    while (s == 0 && std::chrono::steady_clock::now() < deadline) {
      Request r;
      r.mutable_session_create()->set_ttl_ms(10'000);
      auto resp = c->Call(r);
      if (resp.ok() && Ok(*resp)) s = resp->session_create().session_id();
    }
    ASSERT_NE(s, 0) << "writes did not resume after the leader kill";
    const int64_t t = AcquireBlocking(*c, lock, s, 10s);
    EXPECT_GT(t, last);
    last = std::max(last, t);
    ASSERT_TRUE(Ok(Release(*c, lock, s)));
  }
  ASSERT_TRUE(g_ensemble->Start(leader).ok());
  ASSERT_TRUE(g_ensemble->WaitStableLeader(20s).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(g_ensemble->Stop(i), 0);
  ASSERT_TRUE(g_ensemble->StartAll().ok());
  ASSERT_TRUE(g_ensemble->WaitStableLeader(20s).ok());
  auto c = Connect(AFollower());
  const int64_t s = NewSession(*c);
  const int64_t t = AcquireBlocking(*c, lock, s, 10s);
  EXPECT_GT(t, last);
  Response info = Inspect(*c, lock);
  ASSERT_TRUE(Ok(info));
  EXPECT_EQ(info.lock_inspect().lock().last_token(), t);
}

}  // namespace
}  // namespace coord::test
