// Transactions: compares on every target, then/else, atomicity at one revision,
// keys written twice, limits.
#include <gtest/gtest.h>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

pb::Compare Cmp(const std::string& key, pb::Compare::Target target, pb::Compare::Op op) {
  pb::Compare c;
  c.set_key(key);
  c.set_target(target);
  c.set_op(op);
  return c;
}

pb::Compare NumCmp(const std::string& key, pb::Compare::Target target, pb::Compare::Op op,
                   int64_t n) {
  pb::Compare c = Cmp(key, target, op);
  c.set_number(n);
  return c;
}

pb::TxnOp PutOp(const std::string& key, const std::string& value) {
  pb::TxnOp op;
  op.mutable_put()->set_key(key);
  op.mutable_put()->set_value(value);
  return op;
}

pb::TxnOp DeleteOp(const std::string& key, bool prefix = false) {
  pb::TxnOp op;
  op.mutable_delete_()->set_key(key);
  op.mutable_delete_()->set_prefix(prefix);
  return op;
}

pb::TxnOp RangeOp(const std::string& key, bool prefix = false) {
  pb::TxnOp op;
  *op.mutable_range() = RangeReq(key, prefix);
  return op;
}

Command TxnCmd(std::vector<pb::Compare> cmps, std::vector<pb::TxnOp> then,
               std::vector<pb::TxnOp> otherwise = {}) {
  Command c;
  for (auto& x : cmps) *c.mutable_txn()->add_compare() = x;
  for (auto& x : then) *c.mutable_txn()->add_success() = x;
  for (auto& x : otherwise) *c.mutable_txn()->add_failure() = x;
  return c;
}

// Runs a one-compare txn on a fresh store holding /k = "b" (create 1, mod 2,
// version 2) and returns whether the compare held.
bool Holds(const pb::Compare& cmp) {
  Driver d;
  d.Apply(PutCmd("/k", "a"));
  d.Apply(PutCmd("/k", "b"));
  ApplyResult r = d.Apply(TxnCmd({cmp}, {PutOp("/then", "1")}, {PutOp("/else", "1")}));
  EXPECT_EQ(r.response.error().code(), pb::OK) << r.response.error().message();
  bool held = r.response.txn().succeeded();
  EXPECT_EQ(d.Value(held ? "/then" : "/else"), "1");
  return held;
}

TEST(TxnTest, CompareTargets) {
  using C = pb::Compare;
  pb::Compare value = Cmp("/k", C::VALUE, C::EQUAL);
  value.set_value("b");
  EXPECT_TRUE(Holds(value));
  value.set_value("a");
  EXPECT_FALSE(Holds(value));
  value.set_op(C::GREATER);  // "b" > "a"
  EXPECT_TRUE(Holds(value));
  value.set_op(C::LESS);
  EXPECT_FALSE(Holds(value));
  pb::Compare missing_value = Cmp("/missing", C::VALUE, C::NOT_EQUAL);
  missing_value.set_value("x");
  EXPECT_FALSE(Holds(missing_value));  // a value compare on a missing key never holds

  EXPECT_TRUE(Holds(NumCmp("/k", C::VERSION, C::EQUAL, 2)));
  EXPECT_FALSE(Holds(NumCmp("/k", C::VERSION, C::LESS, 2)));
  EXPECT_TRUE(Holds(NumCmp("/missing", C::VERSION, C::EQUAL, 0)));
  EXPECT_TRUE(Holds(NumCmp("/k", C::CREATE_REVISION, C::EQUAL, 1)));
  EXPECT_FALSE(Holds(NumCmp("/k", C::CREATE_REVISION, C::GREATER, 1)));
  EXPECT_TRUE(Holds(NumCmp("/k", C::MOD_REVISION, C::EQUAL, 2)));
  EXPECT_TRUE(Holds(NumCmp("/k", C::MOD_REVISION, C::NOT_EQUAL, 1)));
  EXPECT_TRUE(Holds(NumCmp("/missing", C::MOD_REVISION, C::LESS, 1)));

  pb::Compare exists = Cmp("/k", C::EXISTS, C::EQUAL);
  exists.set_exists(true);
  EXPECT_TRUE(Holds(exists));
  exists.set_key("/missing");
  EXPECT_FALSE(Holds(exists));
  exists.set_op(C::NOT_EQUAL);
  EXPECT_TRUE(Holds(exists));
}

TEST(TxnTest, AllWritesAtOneRevisionWithEvents) {
  Driver d;
  d.Apply(PutCmd("/old", "x"));
  ApplyResult r = d.Apply(
      TxnCmd({}, {PutOp("/a", "1"), PutOp("/b", "2"), DeleteOp("/old"), RangeOp("/", true)}));
  ASSERT_EQ(r.response.error().code(), pb::OK) << r.response.error().message();
  EXPECT_TRUE(r.response.txn().succeeded());
  EXPECT_EQ(r.response.txn().revision(), 2);
  EXPECT_EQ(d.sm.revision(), 2);
  ASSERT_EQ(r.response.txn().results_size(), 4);
  EXPECT_EQ(r.response.txn().results(0).put().revision(), 2);
  EXPECT_EQ(r.response.txn().results(2).delete_().deleted(), 1);
  // The range sees the txn's earlier writes.
  const pb::RangeResponse& seen = r.response.txn().results(3).range();
  ASSERT_EQ(seen.kvs_size(), 2);
  EXPECT_EQ(seen.kvs(0).key(), "/a");
  EXPECT_EQ(seen.kvs(1).key(), "/b");
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].event.kv().key(), "/a");
  EXPECT_EQ(r.events[2].event.type(), pb::Event::DELETE);
  for (const StateEvent& e : r.events) EXPECT_EQ(e.revision, 2);
}

TEST(TxnTest, FailedCompareRunsElseBranchOnly) {
  Driver d;
  pb::Compare c = NumCmp("/k", pb::Compare::VERSION, pb::Compare::EQUAL, 5);
  ApplyResult r = d.Apply(TxnCmd({c}, {PutOp("/then", "1")}, {RangeOp("/then")}));
  ASSERT_EQ(r.response.error().code(), pb::OK);
  EXPECT_FALSE(r.response.txn().succeeded());
  EXPECT_EQ(r.response.txn().results(0).range().count(), 0);
  EXPECT_EQ(d.sm.revision(), 0);  // no write, no revision
  EXPECT_TRUE(r.events.empty());
}

TEST(TxnTest, AnErrorInAnyOpAppliesNothing) {
  Driver d;
  d.Apply(PutCmd("/keep", "1"));
  // The second op refers to an unknown session: the first op must not happen.
  pb::TxnOp bad = PutOp("/eph", "x");
  bad.mutable_put()->set_session(77);
  ApplyResult r = d.Apply(TxnCmd({}, {PutOp("/first", "1"), bad}));
  EXPECT_EQ(r.response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_FALSE(r.response.has_txn());
  EXPECT_EQ(d.Value("/first"), "<none>");
  EXPECT_EQ(d.sm.revision(), 1);
  // A bad op in the branch that does not run is rejected too (validated up front).
  ApplyResult r2 = d.Apply(TxnCmd({}, {PutOp("/first", "1")}, {PutOp("", "x")}));
  EXPECT_EQ(r2.response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Value("/first"), "<none>");
}

TEST(TxnTest, WritingAKeyTwiceIsInvalid) {
  Driver d;
  d.Apply(PutCmd("/p/x", "1"));
  EXPECT_EQ(d.Apply(TxnCmd({}, {PutOp("/a", "1"), PutOp("/a", "2")})).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(TxnCmd({}, {DeleteOp("/a"), PutOp("/a", "2")})).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(
      d.Apply(TxnCmd({}, {PutOp("/p/y", "1"), DeleteOp("/p/", true)})).response.error().code(),
      pb::INVALID_ARGUMENT);
  // Found in the branch that would not run, too.
  EXPECT_EQ(d.Apply(TxnCmd({}, {}, {PutOp("/a", "1"), PutOp("/a", "2")})).response.error().code(),
            pb::INVALID_ARGUMENT);
  // A sequential put then a delete of its prefix would write the new key twice.
  pb::TxnOp seq = PutOp("/s/", "v");
  seq.mutable_put()->set_sequential(true);
  EXPECT_EQ(d.Apply(TxnCmd({}, {seq, DeleteOp("/s/", true)})).response.error().code(),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.sm.revision(), 1);
  // Overlapping deletes are fine: a key is deleted once.
  ApplyResult ok = d.Apply(TxnCmd({}, {DeleteOp("/p/", true), DeleteOp("/p/x")}));
  ASSERT_EQ(ok.response.error().code(), pb::OK) << ok.response.error().message();
  EXPECT_EQ(ok.response.txn().results(0).delete_().deleted(), 1);
  EXPECT_EQ(ok.response.txn().results(1).delete_().deleted(), 0);
  // Two sequential puts under one prefix get distinct numbers.
  ApplyResult two = d.Apply(TxnCmd({}, {seq, seq}));
  ASSERT_EQ(two.response.error().code(), pb::OK) << two.response.error().message();
  EXPECT_EQ(two.response.txn().results(0).put().key(), "/s/00000000000000000001");
  EXPECT_EQ(two.response.txn().results(1).put().key(), "/s/00000000000000000002");
}

TEST(TxnTest, LimitsAndUnsupportedCompares) {
  StateMachineOptions o;
  o.max_txn_ops = 2;
  Driver d(o);
  ApplyResult big = d.Apply(TxnCmd({}, {PutOp("/a", "1"), PutOp("/b", "1"), PutOp("/c", "1")}));
  EXPECT_EQ(big.response.error().code(), pb::TOO_LARGE);
  ApplyResult fits = d.Apply(TxnCmd({}, {PutOp("/a", "1"), PutOp("/b", "1")}));
  EXPECT_EQ(fits.response.error().code(), pb::OK);

  // LOCK_TOKEN is supported now (fencing_test.cc): lock "/l" is free, token 0 != 1.
  ApplyResult lock = d.Apply(
      TxnCmd({NumCmp("/l", pb::Compare::LOCK_TOKEN, pb::Compare::EQUAL, 1)}, {PutOp("/a", "2")}));
  EXPECT_EQ(lock.response.error().code(), pb::OK);
  EXPECT_FALSE(lock.response.txn().succeeded());
  ApplyResult exists_gt =
      d.Apply(TxnCmd({Cmp("/a", pb::Compare::EXISTS, pb::Compare::GREATER)}, {PutOp("/a", "2")}));
  EXPECT_EQ(exists_gt.response.error().code(), pb::INVALID_ARGUMENT);
  Command empty_op = TxnCmd({}, {PutOp("/a", "2")});
  empty_op.mutable_txn()->add_success();  // an op with no body
  EXPECT_EQ(d.Apply(empty_op).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Value("/a"), "1");
}

TEST(TxnTest, AWriteTxnWhoseReadsWouldBeHugeWritesNothing) {
  StateMachineOptions o;
  o.max_txn_result_bytes = 10'000;
  Driver d(o);
  for (int i = 0; i < 10; ++i) d.Apply(PutCmd("/r/" + std::to_string(i), std::string(500, 'v')));
  const int64_t revision = d.sm.revision();
  // 5 KB per prefix range: one fits, three do not.
  ApplyResult one = d.Apply(TxnCmd({}, {RangeOp("/r/", true), PutOp("/w", "1")}));
  ASSERT_EQ(one.response.error().code(), pb::OK) << one.response.DebugString();
  EXPECT_EQ(one.response.txn().results(0).range().kvs_size(), 10);
  ApplyResult three = d.Apply(
      TxnCmd({}, {RangeOp("/r/", true), RangeOp("/r/", true), RangeOp("/r/", true),
                  PutOp("/w", "2")}));
  EXPECT_EQ(three.response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.sm.revision(), revision + 1) << "the refused txn wrote nothing";
  EXPECT_EQ(d.Value("/w"), "1");
  // What the txn writes counts too (a later range could read it).
  ApplyResult big_put =
      d.Apply(TxnCmd({}, {PutOp("/w", std::string(9'000, 'x')), RangeOp("/r/", true)}));
  EXPECT_EQ(big_put.response.error().code(), pb::TOO_LARGE);
}

TEST(TxnTest, AReadOnlyTxnIsServedWithTheResultALoggedOneWouldHave) {
  Driver d;
  d.Apply(PutCmd("/k", "a"));
  d.Apply(PutCmd("/k", "b"));
  const pb::TxnRequest txn =
      TxnCmd({NumCmp("/k", pb::Compare::VERSION, pb::Compare::EQUAL, 2)}, {RangeOp("/k")},
             {RangeOp("/none")})
          .txn();
  ASSERT_TRUE(StateMachine::IsReadOnlyTxn(txn));
  pb::Response served = d.sm.ReadTxn(txn);
  ASSERT_EQ(served.error().code(), pb::OK) << served.DebugString();
  EXPECT_TRUE(served.txn().succeeded());
  EXPECT_EQ(served.txn().results(0).range().kvs(0).value(), "b");
  EXPECT_EQ(served.txn().revision(), d.sm.revision());
  EXPECT_FALSE(StateMachine::IsReadOnlyTxn(TxnCmd({}, {RangeOp("/k")}, {PutOp("/k", "c")}).txn()));
  EXPECT_EQ(d.sm.ReadTxn(TxnCmd({}, {PutOp("/k", "c")}).txn()).error().code(),
            pb::INVALID_ARGUMENT);
  // Over the caller's reply limit: TOO_LARGE with a hint.
  pb::Response small = d.sm.ReadTxn(txn, 10);
  EXPECT_EQ(small.error().code(), pb::TOO_LARGE);
  EXPECT_NE(small.error().message().find("pages"), std::string::npos);
  EXPECT_EQ(d.sm.Range(RangeReq("/k", false), 10).error().code(), pb::TOO_LARGE);
}

}  // namespace
}  // namespace coord::server::testing
