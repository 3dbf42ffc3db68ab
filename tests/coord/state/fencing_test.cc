// Guarded writes: txn compares on a lock's fencing token (LOCK_TOKEN), the
// conflict_on_failure mode, and the fencing-rejection counter.
#include <gtest/gtest.h>

#include "coord/state/lock_test_util.h"

namespace coord::server::testing {
namespace {

Command GuardedPut(const std::string& lock, int64_t token, const std::string& key,
                   const std::string& value, bool conflict_on_failure = false) {
  Command c;
  pb::Compare* cmp = c.mutable_txn()->add_compare();
  cmp->set_key(lock);
  cmp->set_target(pb::Compare::LOCK_TOKEN);
  cmp->set_op(pb::Compare::EQUAL);
  cmp->set_number(token);
  pb::PutRequest* put = c.mutable_txn()->add_success()->mutable_put();
  put->set_key(key);
  put->set_value(value);
  c.mutable_txn()->set_conflict_on_failure(conflict_on_failure);
  return c;
}

TEST(FencingTest, StaleHolderWriteFailsCurrentHolderWriteSucceeds) {
  Driver d;
  int64_t old_holder = d.CreateSession(), next = d.CreateSession();
  int64_t stale = d.Apply(AcquireCmd("/lock", old_holder)).response.lock_acquire().token();
  ApplyResult w1 = d.Apply(GuardedPut("/lock", stale, "/data", "one"));
  ASSERT_EQ(w1.response.error().code(), pb::OK);
  EXPECT_TRUE(w1.response.txn().succeeded());
  EXPECT_FALSE(w1.fencing_rejected);
  EXPECT_EQ(d.Value("/data"), "one");

  // The old holder's session expires; the lock moves on with a larger token.
  d.Apply(AcquireCmd("/lock", next));
  ApplyResult handover = d.Apply(ExpireCmd(old_holder));
  ASSERT_EQ(handover.lock_grants.size(), 1u);
  const int64_t current = handover.lock_grants[0].token;
  EXPECT_GT(current, stale);

  ApplyResult late = d.Apply(GuardedPut("/lock", stale, "/data", "stale write"));
  ASSERT_EQ(late.response.error().code(), pb::OK);
  EXPECT_FALSE(late.response.txn().succeeded());
  EXPECT_TRUE(late.fencing_rejected);
  EXPECT_EQ(d.Value("/data"), "one");
  EXPECT_EQ(d.sm.fencing_rejections(), 1u);

  ApplyResult ok = d.Apply(GuardedPut("/lock", current, "/data", "two"));
  EXPECT_TRUE(ok.response.txn().succeeded());
  EXPECT_EQ(d.Value("/data"), "two");
}

TEST(FencingTest, ConflictOnFailureTurnsAStaleTokenIntoConflict) {
  Driver d;
  int64_t s = d.CreateSession();
  int64_t t1 = d.Apply(AcquireCmd("/lock", s)).response.lock_acquire().token();
  d.Apply(ReleaseCmd("/lock", s));
  int64_t t2 = d.Apply(AcquireCmd("/lock", s)).response.lock_acquire().token();
  ASSERT_EQ(t2, t1 + 1);
  const int64_t revision = d.sm.revision();
  ApplyResult r = d.Apply(GuardedPut("/lock", t1, "/data", "x", /*conflict_on_failure=*/true));
  EXPECT_EQ(r.response.error().code(), pb::CONFLICT);
  EXPECT_NE(r.response.error().message().find("current token " + std::to_string(t2)),
            std::string::npos)
      << r.response.error().message();
  EXPECT_TRUE(r.fencing_rejected);
  EXPECT_EQ(d.sm.revision(), revision);
  EXPECT_EQ(d.Value("/data"), "<none>");
  EXPECT_EQ(d.sm.fencing_rejections(), 1u);

  // A value compare failing is a CONFLICT too, but not a fencing rejection.
  Command c = GuardedPut("/lock", t2, "/data", "y", true);
  pb::Compare* v = c.mutable_txn()->add_compare();
  v->set_key("/data");
  v->set_target(pb::Compare::EXISTS);
  v->set_exists(true);
  ApplyResult missing = d.Apply(c);
  EXPECT_EQ(missing.response.error().code(), pb::CONFLICT);
  EXPECT_FALSE(missing.fencing_rejected);
  EXPECT_EQ(d.sm.fencing_rejections(), 1u);

  // conflict_on_failure with failure ops is refused.
  Command bad = GuardedPut("/lock", t2, "/data", "z", true);
  bad.mutable_txn()->add_failure()->mutable_range()->set_key("/data");
  EXPECT_EQ(d.Apply(bad).response.error().code(), pb::INVALID_ARGUMENT);

  EXPECT_TRUE(d.Apply(GuardedPut("/lock", t2, "/data", "ok", true)).response.txn().succeeded());
  EXPECT_EQ(d.Value("/data"), "ok");
}

TEST(FencingTest, TokenOfFreeOrUnknownLockIsZeroAndOrderingOpsWork) {
  Driver d;
  auto holds = [&](const std::string& lock, pb::Compare::Op op, int64_t n) {
    Command c = GuardedPut(lock, n, "/w", "1");
    c.mutable_txn()->mutable_compare(0)->set_op(op);
    return d.Apply(c).response.txn().succeeded();
  };
  EXPECT_TRUE(holds("/never", pb::Compare::EQUAL, 0));
  int64_t s = d.CreateSession();
  d.Apply(SharedCmd("/rw", s));
  int64_t s2 = d.CreateSession();
  d.Apply(SharedCmd("/rw", s2));
  // Shared: the current token is the highest held.
  EXPECT_TRUE(holds("/rw", pb::Compare::EQUAL, 2));
  EXPECT_TRUE(holds("/rw", pb::Compare::GREATER, 1));
  EXPECT_TRUE(holds("/rw", pb::Compare::LESS, 3));
  EXPECT_TRUE(holds("/rw", pb::Compare::NOT_EQUAL, 1));
  d.Apply(ReleaseCmd("/rw", s));
  d.Apply(ReleaseCmd("/rw", s2));
  EXPECT_TRUE(holds("/rw", pb::Compare::EQUAL, 0)) << "free";
}

TEST(FencingTest, CounterSurvivesRestoreButIsNotInTheSnapshot) {
  Driver d;
  int64_t s = d.CreateSession();
  d.Apply(AcquireCmd("/lock", s));
  d.Apply(GuardedPut("/lock", 99, "/data", "x"));
  ASSERT_EQ(d.sm.fencing_rejections(), 1u);
  const std::string bytes = d.sm.Snapshot();
  ASSERT_TRUE(d.sm.Restore(bytes).ok());
  EXPECT_EQ(d.sm.fencing_rejections(), 1u);
  Driver other;
  ASSERT_TRUE(other.sm.Restore(bytes).ok());
  EXPECT_EQ(other.sm.fencing_rejections(), 0u);
}

}  // namespace
}  // namespace coord::server::testing
