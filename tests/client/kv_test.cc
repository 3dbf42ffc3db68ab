// Client against the real ensemble: typed calls, errors, failover mid-request and
// exactly-once retries of writes whose reply was lost.
#include <signal.h>

#include <atomic>
#include <thread>

#include "coord/client/client.h"
#include "env.h"

namespace coord::test {
namespace {

using coord::v1::Compare;
using coord::v1::TxnRequest;

TEST(ClientKv, PutGetRangeDeleteTxnCompact) {
  auto c = NewClient();
  const std::string k = Fresh("/kv/a");
  auto put = c->Put(k, "one");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_GT(put->revision(), 0);
  auto got = c->Get(k);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value(), "one");
  EXPECT_EQ((*got)->version(), 1);
  auto missing = c->Get(Fresh("/kv/none"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  coord::v1::RangeRequest range;
  range.set_key(k);
  range.set_prefix(true);
  auto r = c->Range(range);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->range.kvs_size(), 1);
  EXPECT_GE(r->header.revision(), put->revision());

  TxnRequest txn;
  auto* cmp = txn.add_compare();
  cmp->set_key(k);
  cmp->set_target(Compare::VERSION);
  cmp->set_op(Compare::EQUAL);
  cmp->set_number(1);
  auto* op = txn.add_success()->mutable_put();
  op->set_key(k);
  op->set_value("two");
  auto t = c->Txn(txn);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->succeeded());
  auto again = c->Txn(txn);  // version is 2 now
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->succeeded());

  auto del = c->Delete(k);
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->deleted(), 1);

  // Server errors arrive as their codes.
  coord::v1::PutRequest bad;
  auto e = c->Put(bad);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << e.status();
  auto old = c->Compact(1);
  EXPECT_TRUE(old.ok() || old.status().code() == StatusCode::kCompacted) << old.status();
  coord::v1::RangeRequest past;
  past.set_key(k);
  past.set_revision(1);
  if (old.ok()) {
    auto compacted = c->Range(past);
    EXPECT_EQ(compacted.status().code(), StatusCode::kCompacted) << compacted.status();
  }
}

TEST(ClientKv, AsyncCallbacksRunOnTheExecutorInOrder) {
  auto c = NewClient();
  const std::string k = Fresh("/kv/async");
  std::mutex mu;
  std::vector<int64_t> revisions;
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    coord::v1::Request r;
    r.mutable_put()->set_key(k);
    r.mutable_put()->set_value(std::to_string(i));
    c->CallAsync(std::move(r), [&](Result<coord::v1::Response> resp) {
      EXPECT_TRUE(c->executor().InExecutorThread());
      ASSERT_TRUE(resp.ok()) << resp.status();
      std::lock_guard lock(mu);
      revisions.push_back(resp->put().revision());
      done.fetch_add(1);
    });
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == 20; }, 10s));
  std::lock_guard lock(mu);
  std::set<int64_t> distinct(revisions.begin(), revisions.end());
  EXPECT_EQ(distinct.size(), 20u);
}

// Writes keep succeeding while the member the client is connected to is killed:
// calls in flight are re-sent on the next member before their deadline.
TEST(ClientKv, FailoverMidRequest) {
  auto c = NewClient();
  ASSERT_TRUE(c->WaitConnected(5s).ok());
  const std::string k = Fresh("/kv/failover");
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  Status first_failure;
  std::mutex mu;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto r = c->Put(k + "/" + std::to_string(i), "v", 0, 8s);
      if (r.ok()) {
        ok.fetch_add(1);
      } else {
        std::lock_guard lock(mu);
        if (failed.fetch_add(1) == 0) first_failure = r.status();
      }
    }
  });
  ASSERT_TRUE(WaitFor([&] { return ok.load() >= 20; }, 10s));
  const int victim = c->connected_endpoint();
  ASSERT_GE(victim, 0);
  const uint64_t conns = c->connection_count();
  g_client_ensemble->Kill(victim);
  const int before = ok.load();
  EXPECT_TRUE(WaitFor([&] { return ok.load() >= before + 50; }, 20s));
  stop = true;
  writer.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(c->connection_count(), conns);
  EXPECT_NE(c->connected_endpoint(), victim);
  // Every successful put is there.
  coord::v1::RangeRequest range;
  range.set_key(k + "/");
  range.set_prefix(true);
  range.set_count_only(true);
  auto r = c->Range(range);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->range.count(), ok.load());
  EnsureRunning(victim);
}

// The member the client talks to is the Raft leader, and it dies: the writes in
// flight are re-sent (exactly-once) to another member, which forwards them to the
// new leader once one is elected.
TEST(ClientKv, FailoverWhenTheConnectedLeaderDies) {
  auto leader = g_client_ensemble->WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  auto c = NewClient();
  ASSERT_TRUE(c->WaitConnected(5s).ok());
  // Reconnects go round robin: at most two breaks reach the leader.
  for (int i = 0; i < 3 && c->connected_endpoint() != *leader; ++i) {
    const uint64_t n = c->connection_count();
    c->TEST_BreakConnection();
    ASSERT_TRUE(
        WaitFor([&] { return c->connection_count() > n && c->connected_endpoint() >= 0; }, 5s));
  }
  ASSERT_EQ(c->connected_endpoint(), *leader);
  const std::string counter = Fresh("/kv/leader-failover");
  ASSERT_TRUE(c->Put(counter, "0").ok());
  std::atomic<int> done{0};
  std::atomic<bool> bad{false};
  std::thread writer([&] {
    // Compare-and-set increments: a double application would fail a compare.
    for (int i = 1; i <= 40; ++i) {
      TxnRequest txn;
      auto* cmp = txn.add_compare();
      cmp->set_key(counter);
      cmp->set_target(Compare::VERSION);
      cmp->set_op(Compare::EQUAL);
      cmp->set_number(i);
      auto* op = txn.add_success()->mutable_put();
      op->set_key(counter);
      op->set_value(std::to_string(i));
      auto t = c->Txn(txn, 8s);
      if (!t.ok() || !t->succeeded()) {
        bad = true;
        ADD_FAILURE() << "increment " << i << ": "
                      << (t.ok() ? std::string("compare failed") : t.status().ToString());
        return;
      }
      done.fetch_add(1);
    }
  });
  ASSERT_TRUE(WaitFor([&] { return done.load() >= 10; }, 10s));
  g_client_ensemble->Kill(*leader);
  writer.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(done.load(), 40);
  auto kv = c->Get(counter);
  ASSERT_TRUE(kv.ok() && kv->has_value()) << kv.status();
  EXPECT_EQ((*kv)->value(), "40");
  EXPECT_EQ((*kv)->version(), 41);
  EnsureRunning(*leader);
}

// The connected member freezes (SIGSTOP): TCP stays up but nothing answers. The
// client's keep-alive pings notice within its idle timeout (4 s) and the call in
// flight completes on another member before its deadline.
TEST(ClientKv, FrozenMemberIsDetectedAndAvoided) {
  auto c = NewClient();
  ASSERT_TRUE(c->WaitConnected(5s).ok());
  const int frozen = c->connected_endpoint();
  ASSERT_GE(frozen, 0);
  g_client_ensemble->Pause(frozen);
  const auto start = std::chrono::steady_clock::now();
  auto r = c->Put(Fresh("/kv/frozen"), "v", 0, 15s);
  const auto took = std::chrono::steady_clock::now() - start;
  g_client_ensemble->Resume(frozen);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(c->connected_endpoint(), frozen);
  EXPECT_LT(took, 12s);
  EnsureRunning(frozen);
}

// A sequential put is not idempotent: applying it twice would create two keys.
// The reply is dropped (and the connection broken); the retry with the same
// (client_id, sequence) must return the original result.
TEST(ClientKv, ExactlyOnceWhenTheReplyIsLost) {
  auto c = NewClient();
  ASSERT_TRUE(c->WaitConnected(5s).ok());
  const std::string prefix = Fresh("/kv/once") + "/";
  const uint64_t conns = c->connection_count();
  c->TEST_DropNextWriteReply();
  coord::v1::PutRequest put;
  put.set_key(prefix);
  put.set_sequential(true);
  put.set_value("x");
  auto r = c->Put(put);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(c->connection_count(), conns);  // the reply really was lost
  coord::v1::RangeRequest range;
  range.set_key(prefix);
  range.set_prefix(true);
  auto got = c->Range(range);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->range.kvs_size(), 1);
  EXPECT_EQ(got->range.kvs(0).key(), r->key());

  // A counter incremented by compare-and-set on its version: a second application
  // would fail the compare, so the retry's answer "succeeded" proves it was the
  // remembered reply of the first.
  const std::string counter = Fresh("/kv/counter");
  ASSERT_TRUE(c->Put(counter, "0").ok());
  for (int i = 1; i <= 5; ++i) {
    if (i % 2 == 0) {
      c->TEST_DropNextWriteReply();
    } else {
      c->TEST_BreakAfterNextWriteSend();
    }
    TxnRequest txn;
    auto* cmp = txn.add_compare();
    cmp->set_key(counter);
    cmp->set_target(Compare::VERSION);
    cmp->set_op(Compare::EQUAL);
    cmp->set_number(i);
    auto* op = txn.add_success()->mutable_put();
    op->set_key(counter);
    op->set_value(std::to_string(i));
    auto t = c->Txn(txn);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(t->succeeded()) << "increment " << i;
  }
  auto kv = c->Get(counter);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value(), "5");
  EXPECT_EQ((*kv)->version(), 6);
}

// Many writers share the lanes: more concurrent writes than lanes all complete.
TEST(ClientKv, MoreConcurrentWritesThanLanes) {
  ClientOptions o;
  o.endpoints = Endpoints();
  o.write_lanes = 2;
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok());
  const std::string k = Fresh("/kv/lanes");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if ((*c)->Put(k + "/" + std::to_string(t) + "/" + std::to_string(i), "v").ok()) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 80);
}

// Defect: with client_id_base (or random_seed) set, a restarted or replicated
// client reused its predecessor's lanes, and its first write got the cached OK of
// the predecessor's first write without being applied. Two clients with the same
// options, one after the other (a restart) and side by side (replicas), must
// each have every write applied.
TEST(ClientKv, SameClientIdBaseAndSeedNeverShareALane) {
  ClientOptions o;
  o.endpoints = Endpoints();
  o.write_lanes = 1;
  o.client_id_base = 424242;
  o.random_seed = 7;
  const std::string k = Fresh("/kv/incarnation");
  int64_t first_revision = 0;
  {
    auto before_restart = Client::Create(o);
    ASSERT_TRUE(before_restart.ok());
    auto put = (*before_restart)->Put(k, "before-restart");
    ASSERT_TRUE(put.ok()) << put.status();
    first_revision = put->revision();
  }
  auto a = Client::Create(o);
  auto b = Client::Create(o);
  ASSERT_TRUE(a.ok() && b.ok());
  auto put_a = (*a)->Put(k, "after-restart");
  ASSERT_TRUE(put_a.ok()) << put_a.status();
  EXPECT_GT(put_a->revision(), first_revision);
  auto got = (*a)->Get(k);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value(), "after-restart");
  auto put_b = (*b)->Put(k, "replica");
  ASSERT_TRUE(put_b.ok()) << put_b.status();
  EXPECT_GT(put_b->revision(), put_a->revision());
  got = (*b)->Get(k);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value(), "replica");
  EXPECT_EQ((*got)->version(), 3);
}

}  // namespace
}  // namespace coord::test
