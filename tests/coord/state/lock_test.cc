// Locks: try-acquire, FIFO queue, no herd, shared readers with FIFO fairness,
// fencing tokens, session end, wait timeouts, revocation, inspect/list, errors,
// and exactly-once retries.
#include <gtest/gtest.h>

#include "coord/state/lock_test_util.h"

namespace coord::server::testing {
namespace {

TEST(LockTest, TryAcquireGrantsOrConflicts) {
  Driver d;
  int64_t s1 = d.CreateSession();
  int64_t s2 = d.CreateSession();
  ApplyResult a = d.Apply(TryAcquireCmd("/l", s1));
  ASSERT_EQ(a.response.error().code(), pb::OK);
  EXPECT_TRUE(a.response.lock_acquire().granted());
  EXPECT_EQ(a.response.lock_acquire().token(), 1);
  EXPECT_EQ(a.response.lock_acquire().acquire_index(), d.index);
  EXPECT_TRUE(a.lock_grants.empty()) << "an immediate grant is only in the response";

  ApplyResult b = d.Apply(TryAcquireCmd("/l", s2));
  EXPECT_EQ(b.response.error().code(), pb::CONFLICT);
  EXPECT_NE(b.response.error().message().find("held by session 1"), std::string::npos)
      << b.response.error().message();
  EXPECT_TRUE(Waiters(d, "/l").empty()) << "a try-acquire never queues";

  // A repeat by the holder returns its grant; the other mode is a conflict.
  ApplyResult again = d.Apply(TryAcquireCmd("/l", s1));
  EXPECT_TRUE(again.response.lock_acquire().granted());
  EXPECT_EQ(again.response.lock_acquire().token(), 1);
  EXPECT_EQ(d.Apply(TryAcquireCmd("/l", s1, /*shared=*/true)).response.error().code(),
            pb::CONFLICT);
  EXPECT_EQ(Inspect(d, "/l").last_token(), 1);
  EXPECT_EQ(d.sm.revision(), 0) << "locks do not touch the key space";
}

TEST(LockTest, FifoOrderAndNoHerd) {
  Driver d;
  int64_t s[5];
  for (int64_t& id : s) id = d.CreateSession();
  ASSERT_TRUE(d.Apply(AcquireCmd("/l", s[0])).response.lock_acquire().granted());
  for (int i = 1; i < 5; ++i) {
    ApplyResult q = d.Apply(AcquireCmd("/l", s[i]));
    EXPECT_FALSE(q.response.lock_acquire().granted());
    EXPECT_EQ(q.response.lock_acquire().position(), i);
    ASSERT_EQ(q.lock_waits_queued.size(), 1u);
    EXPECT_EQ(q.lock_waits_queued[0].acquire_index, d.index);
  }
  EXPECT_EQ(Waiters(d, "/l"), (std::vector<int64_t>{s[1], s[2], s[3], s[4]}));
  // A repeated acquire by a waiter keeps its place.
  ApplyResult repeat = d.Apply(AcquireCmd("/l", s[2]));
  EXPECT_EQ(repeat.response.lock_acquire().position(), 2);
  EXPECT_TRUE(repeat.lock_waits_queued.empty());

  int64_t last_token = 1;
  for (int i = 0; i < 4; ++i) {
    ApplyResult r = d.Apply(ReleaseCmd("/l", s[i]));
    ASSERT_EQ(r.response.error().code(), pb::OK);
    EXPECT_TRUE(r.response.lock_release().was_holder());
    // Only the next waiter, never the rest of the queue.
    ASSERT_EQ(Granted(r), std::vector<int64_t>{s[i + 1]});
    EXPECT_EQ(r.lock_grants[0].name, "/l");
    EXPECT_EQ(r.lock_grants[0].token, last_token + 1);
    EXPECT_FALSE(r.lock_grants[0].shared);
    last_token = r.lock_grants[0].token;
    EXPECT_EQ(Holders(d, "/l"), std::vector<int64_t>{s[i + 1]});
    EXPECT_EQ(Waiters(d, "/l").size(), static_cast<size_t>(3 - i));
  }
  ApplyResult last = d.Apply(ReleaseCmd("/l", s[4]));
  EXPECT_TRUE(last.lock_grants.empty());
  pb::LockInfo free = Inspect(d, "/l");
  EXPECT_EQ(free.holders_size(), 0);
  EXPECT_EQ(free.token(), 0);
  EXPECT_EQ(free.last_token(), 5);
}

TEST(LockTest, SharedReadersTogetherWriterWaitsFifoFair) {
  Driver d;
  int64_t r1 = d.CreateSession(), r2 = d.CreateSession(), w3 = d.CreateSession();
  int64_t r4 = d.CreateSession(), r5 = d.CreateSession(), w6 = d.CreateSession();
  ApplyResult a1 = d.Apply(SharedCmd("/rw", r1));
  ApplyResult a2 = d.Apply(SharedCmd("/rw", r2));
  EXPECT_TRUE(a1.response.lock_acquire().granted());
  EXPECT_TRUE(a2.response.lock_acquire().granted());
  EXPECT_EQ(a2.response.lock_acquire().token(), 2) << "each shared holder gets its own token";
  EXPECT_TRUE(Inspect(d, "/rw").shared());
  EXPECT_EQ(Inspect(d, "/rw").token(), 2);

  EXPECT_FALSE(d.Apply(AcquireCmd("/rw", w3)).response.lock_acquire().granted());
  // A reader behind a queued writer waits although readers hold the lock.
  ApplyResult q4 = d.Apply(SharedCmd("/rw", r4));
  EXPECT_FALSE(q4.response.lock_acquire().granted());
  EXPECT_EQ(q4.response.lock_acquire().position(), 2);
  EXPECT_EQ(d.Apply(TryAcquireCmd("/rw", r5, true)).response.error().code(), pb::CONFLICT);
  d.Apply(SharedCmd("/rw", r5));
  d.Apply(AcquireCmd("/rw", w6));

  EXPECT_TRUE(d.Apply(ReleaseCmd("/rw", r1)).lock_grants.empty()) << "r2 still reads";
  ApplyResult to_writer = d.Apply(ReleaseCmd("/rw", r2));
  EXPECT_EQ(Granted(to_writer), std::vector<int64_t>{w3});
  EXPECT_FALSE(Inspect(d, "/rw").shared());
  // The writer's release grants the run of readers at the head, not the writer
  // behind them.
  ApplyResult to_readers = d.Apply(ReleaseCmd("/rw", w3));
  EXPECT_EQ(Granted(to_readers), (std::vector<int64_t>{r4, r5}));
  EXPECT_TRUE(to_readers.lock_grants[0].shared);
  EXPECT_EQ(to_readers.lock_grants[0].token + 1, to_readers.lock_grants[1].token);
  EXPECT_EQ(Holders(d, "/rw"), (std::vector<int64_t>{r4, r5}));
  EXPECT_EQ(Waiters(d, "/rw"), std::vector<int64_t>{w6});
  EXPECT_EQ(Inspect(d, "/rw").token(), to_readers.lock_grants[1].token);
  d.Apply(ReleaseCmd("/rw", r5));
  EXPECT_EQ(Granted(d.Apply(ReleaseCmd("/rw", r4))), std::vector<int64_t>{w6});
}

TEST(LockTest, TokensStrictlyIncreaseAcrossEveryKindOfHandover) {
  Driver d;
  int64_t a = d.CreateSession(), b = d.CreateSession(), c = d.CreateSession();
  std::vector<int64_t> tokens;
  tokens.push_back(d.Apply(AcquireCmd("/t", a)).response.lock_acquire().token());
  d.Apply(AcquireCmd("/t", b));
  tokens.push_back(d.Apply(ReleaseCmd("/t", a)).lock_grants.at(0).token);  // release
  d.Apply(AcquireCmd("/t", c));
  tokens.push_back(d.Apply(RevokeCmd("/t")).lock_grants.at(0).token);  // revocation
  d.Apply(AcquireCmd("/t", a));
  tokens.push_back(d.Apply(ExpireCmd(c)).lock_grants.at(0).token);  // session expiry
  d.Apply(ReleaseCmd("/t", a));                                     // now free
  tokens.push_back(d.Apply(TryAcquireCmd("/t", b)).response.lock_acquire().token());
  for (size_t i = 1; i < tokens.size(); ++i) EXPECT_EQ(tokens[i], tokens[i - 1] + 1) << i;

  // Across a snapshot and restore: the free lock's counter is state.
  d.Apply(ReleaseCmd("/t", b));
  Driver restored;
  ASSERT_TRUE(restored.sm.Restore(d.sm.Snapshot()).ok());
  restored.index = d.index;
  int64_t e = restored.CreateSession();
  EXPECT_EQ(restored.Apply(AcquireCmd("/t", e)).response.lock_acquire().token(), tokens.back() + 1);
}

TEST(LockTest, SessionEndReleasesAndGrantsNext) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  d.Apply(AcquireCmd("/a", s1));
  d.Apply(AcquireCmd("/a", s2));
  d.Apply(AcquireCmd("/a", s3));
  d.Apply(AcquireCmd("/b", s2));  // s2 holds /b too

  ApplyResult expired = d.Apply(ExpireCmd(s1));
  EXPECT_EQ(expired.expired_sessions, std::vector<int64_t>{s1});
  EXPECT_EQ(Granted(expired), std::vector<int64_t>{s2});

  // s2 holds /a and /b and ends: /a goes to s3, /b becomes free.
  ApplyResult closed = d.Apply(CloseCmd(s2));
  EXPECT_EQ(Granted(closed), std::vector<int64_t>{s3});
  EXPECT_TRUE(Holders(d, "/b").empty());
  EXPECT_EQ(Holders(d, "/a"), std::vector<int64_t>{s3});
  EXPECT_TRUE(d.sm.LockList({}).lock_list().locks_size() == 1);
}

TEST(LockTest, EndingHolderAndWaiterTogetherGrantsNeitherOfThem) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  d.Apply(AcquireCmd("/a", s1));
  uint64_t s2_wait = d.index + 1;
  d.Apply(AcquireCmd("/a", s2));
  d.Apply(AcquireCmd("/a", s3));
  Command both = ExpireCmd(s1);
  both.mutable_session_expire()->add_sessions()->set_session_id(s2);
  ApplyResult r = d.Apply(both);
  EXPECT_EQ(Granted(r), std::vector<int64_t>{s3});
  ASSERT_EQ(r.lock_waits_ended.size(), 1u);
  EXPECT_EQ(r.lock_waits_ended[0].session, s2);
  EXPECT_EQ(r.lock_waits_ended[0].acquire_index, s2_wait);
  EXPECT_EQ(r.lock_waits_ended[0].reason, LockWaitEndReason::kSessionEnded);
  // Ended sessions cannot acquire.
  EXPECT_EQ(d.Apply(AcquireCmd("/a", s1)).response.error().code(), pb::SESSION_EXPIRED);
}

TEST(LockTest, WaitTimeoutRemovesOnlyThatWait) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  d.Apply(AcquireCmd("/l", s1));
  ApplyResult q = d.Apply(AcquireCmd("/l", s2, true, false, /*wait_timeout_ms=*/500));
  const uint64_t wait = q.response.lock_acquire().acquire_index();
  ASSERT_EQ(q.lock_waits_queued.size(), 1u);
  EXPECT_EQ(q.lock_waits_queued[0].wait_timeout_ms, 500);
  EXPECT_EQ(q.lock_waits_queued[0].session, s2);
  d.Apply(AcquireCmd("/l", s3));
  std::vector<LockWaitState> waits = d.sm.LockWaits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0].acquire_index, wait);
  EXPECT_EQ(waits[0].wait_timeout_ms, 500);
  EXPECT_EQ(waits[1].session, s3);

  // A timeout for another acquire of the same session is stale: ignored.
  ApplyResult stale = d.Apply(WaitTimeoutCmd("/l", s2, wait + 100));
  EXPECT_TRUE(stale.lock_waits_ended.empty());
  EXPECT_EQ(Waiters(d, "/l"), (std::vector<int64_t>{s2, s3}));

  ApplyResult t = d.Apply(WaitTimeoutCmd("/l", s2, wait));
  ASSERT_EQ(t.lock_waits_ended.size(), 1u);
  EXPECT_EQ(t.lock_waits_ended[0].reason, LockWaitEndReason::kTimedOut);
  EXPECT_TRUE(t.lock_grants.empty());
  EXPECT_EQ(Waiters(d, "/l"), std::vector<int64_t>{s3});
  EXPECT_TRUE(d.Apply(WaitTimeoutCmd("/l", s2, wait)).lock_waits_ended.empty()) << "twice";

  // A timeout that arrives after the grant is ignored: the holder keeps the lock.
  ApplyResult granted = d.Apply(ReleaseCmd("/l", s1));
  ASSERT_EQ(Granted(granted), std::vector<int64_t>{s3});
  uint64_t s3_wait = granted.lock_grants[0].acquire_index;
  EXPECT_TRUE(d.Apply(WaitTimeoutCmd("/l", s3, s3_wait)).lock_waits_ended.empty());
  EXPECT_EQ(Holders(d, "/l"), std::vector<int64_t>{s3});
}

TEST(LockTest, TimedOutWriterAtHeadLetsReadersJoin) {
  Driver d;
  int64_t r1 = d.CreateSession(), w2 = d.CreateSession(), r3 = d.CreateSession();
  d.Apply(SharedCmd("/rw", r1));
  uint64_t w2_wait =
      d.Apply(AcquireCmd("/rw", w2, true, false, 100)).response.lock_acquire().acquire_index();
  d.Apply(SharedCmd("/rw", r3));
  ApplyResult t = d.Apply(WaitTimeoutCmd("/rw", w2, w2_wait));
  EXPECT_EQ(Granted(t), std::vector<int64_t>{r3});
  EXPECT_EQ(Holders(d, "/rw"), (std::vector<int64_t>{r1, r3}));
}

TEST(LockTest, RevokeAndWithdraw) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession(), s3 = d.CreateSession();
  EXPECT_EQ(d.Apply(RevokeCmd("/l")).response.error().code(), pb::NOT_FOUND);
  d.Apply(SharedCmd("/l", s1));
  d.Apply(SharedCmd("/l", s2));
  d.Apply(AcquireCmd("/l", s3));
  ApplyResult r = d.Apply(RevokeCmd("/l"));
  ASSERT_EQ(r.response.error().code(), pb::OK);
  const auto& revoked = r.response.lock_revoke().revoked_sessions();
  EXPECT_EQ(std::vector<int64_t>(revoked.begin(), revoked.end()), (std::vector<int64_t>{s1, s2}));
  EXPECT_EQ(Granted(r), std::vector<int64_t>{s3});
  // The revoked sessions no longer hold it: their release is NOT_FOUND.
  EXPECT_EQ(d.Apply(ReleaseCmd("/l", s1)).response.error().code(), pb::NOT_FOUND);

  // A waiter withdraws with release.
  d.Apply(AcquireCmd("/l", s1));
  ApplyResult w = d.Apply(ReleaseCmd("/l", s1));
  ASSERT_EQ(w.response.error().code(), pb::OK);
  EXPECT_FALSE(w.response.lock_release().was_holder());
  ASSERT_EQ(w.lock_waits_ended.size(), 1u);
  EXPECT_EQ(w.lock_waits_ended[0].reason, LockWaitEndReason::kWithdrawn);
  EXPECT_TRUE(Waiters(d, "/l").empty());
  EXPECT_EQ(d.Apply(ReleaseCmd("/other", s1)).response.error().code(), pb::NOT_FOUND);
}

TEST(LockTest, InspectAndList) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession();
  pb::LockInspectRequest missing;
  missing.set_name("/none");
  EXPECT_EQ(d.sm.LockInspect(missing).error().code(), pb::NOT_FOUND);
  pb::LockInspectRequest empty;
  EXPECT_EQ(d.sm.LockInspect(empty).error().code(), pb::INVALID_ARGUMENT);

  d.Apply(AcquireCmd("/app/a", s1));
  d.Apply(AcquireCmd("/app/a", s2, true, true, 250));
  d.Apply(AcquireCmd("/app/b", s2));
  d.Apply(AcquireCmd("/app/c", s1));
  d.Apply(ReleaseCmd("/app/c", s1));  // free: not listed
  d.Apply(AcquireCmd("/other", s1));

  pb::LockInfo a = Inspect(d, "/app/a");
  EXPECT_EQ(a.name(), "/app/a");
  EXPECT_FALSE(a.shared());
  ASSERT_EQ(a.holders_size(), 1);
  EXPECT_EQ(a.holders(0).session(), s1);
  EXPECT_EQ(a.holders(0).token(), 1);
  ASSERT_EQ(a.waiters_size(), 1);
  EXPECT_EQ(a.waiters(0).session(), s2);
  EXPECT_TRUE(a.waiters(0).shared());
  EXPECT_EQ(a.waiters(0).wait_timeout_ms(), 250);
  EXPECT_EQ(a.token(), 1);

  pb::LockListRequest list;
  list.set_prefix("/app/");
  pb::Response all = d.sm.LockList(list);
  ASSERT_EQ(all.lock_list().locks_size(), 2);
  EXPECT_EQ(all.lock_list().locks(0).name(), "/app/a");
  EXPECT_EQ(all.lock_list().locks(1).name(), "/app/b");
  EXPECT_FALSE(all.lock_list().more());
  list.set_limit(1);
  pb::Response one = d.sm.LockList(list);
  EXPECT_EQ(one.lock_list().locks_size(), 1);
  EXPECT_TRUE(one.lock_list().more());
  EXPECT_EQ(d.sm.LockList({}).lock_list().locks_size(), 3);
  list.set_limit(-1);
  EXPECT_EQ(d.sm.LockList(list).error().code(), pb::INVALID_ARGUMENT);
}

TEST(LockTest, BadRequestsAreErrorsThatChangeNothing) {
  StateMachineOptions o;
  o.max_key_bytes = 16;
  Driver d(o);
  int64_t s = d.CreateSession();
  EXPECT_EQ(d.Apply(AcquireCmd("", s)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(AcquireCmd(std::string(17, 'x'), s)).response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.Apply(AcquireCmd("/l", 0)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(AcquireCmd("/l", 99)).response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.Apply(AcquireCmd("/l", s, true, false, -1)).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(AcquireCmd("/l", s, false, false, 10)).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(ReleaseCmd("", s)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(ReleaseCmd("/l", 99)).response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.Apply(RevokeCmd("")).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(WaitTimeoutCmd("/nope", s, 3)).response.error().code(), pb::OK);
  pb::LockInspectRequest r;
  r.set_name("/l");
  EXPECT_EQ(d.sm.LockInspect(r).error().code(), pb::NOT_FOUND) << "no lock record was made";
  EXPECT_TRUE(d.sm.LockWaits().empty());
}

TEST(LockTest, RetriedAcquireIsAnsweredOnce) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession();
  d.Apply(AcquireCmd("/l", s1));
  Command q = WithClient(AcquireCmd("/l", s2), 7, 1);
  ApplyResult first = d.Apply(q);
  ApplyResult retry = d.Apply(q);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.response.SerializeAsString(), first.response.SerializeAsString());
  EXPECT_TRUE(retry.lock_waits_queued.empty());
  EXPECT_EQ(Waiters(d, "/l"), std::vector<int64_t>{s2});
}

TEST(LockTest, SnapshotKeepsHoldersQueuesAndTokens) {
  Driver a;
  int64_t s1 = a.CreateSession(), s2 = a.CreateSession(), s3 = a.CreateSession();
  a.Apply(SharedCmd("/l", s1));
  a.Apply(AcquireCmd("/l", s2, true, false, 300));
  a.Apply(SharedCmd("/l", s3));
  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  b.index = a.index;
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
  EXPECT_EQ(Inspect(b, "/l").SerializeAsString(), Inspect(a, "/l").SerializeAsString());
  ASSERT_EQ(b.sm.LockWaits().size(), 2u);
  // Both continue identically.
  ApplyResult ra = a.Apply(ReleaseCmd("/l", s1));
  ApplyResult rb = b.Apply(ReleaseCmd("/l", s1));
  EXPECT_EQ(Granted(rb), std::vector<int64_t>{s2});
  EXPECT_EQ(ra.lock_grants[0].token, rb.lock_grants[0].token);
  EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot());
}

TEST(LockTest, RestoreRejectsBrokenLockRecords) {
  Driver d;
  int64_t s1 = d.CreateSession(), s2 = d.CreateSession();
  d.Apply(AcquireCmd("/l", s1));
  d.Apply(AcquireCmd("/l", s2));
  const std::string good = d.sm.Snapshot();
  coord::state::StateSnapshot broken;
  ASSERT_TRUE(broken.ParseFromString(good));
  broken.mutable_locks(0)->mutable_holders(0)->set_session(42);  // unknown session
  EXPECT_EQ(d.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
  ASSERT_TRUE(broken.ParseFromString(good));
  broken.mutable_locks(0)->set_last_token(0);  // a held token above last_token
  EXPECT_EQ(d.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
  ASSERT_TRUE(broken.ParseFromString(good));
  broken.mutable_locks(0)->clear_holders();  // a waiter on a free lock
  EXPECT_EQ(d.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
  EXPECT_EQ(Holders(d, "/l"), std::vector<int64_t>{s1}) << "state kept";
  EXPECT_TRUE(d.sm.Restore(good).ok());
}

}  // namespace
}  // namespace coord::server::testing
