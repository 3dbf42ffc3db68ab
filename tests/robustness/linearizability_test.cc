// The register linearizability checker on hand-made histories: ones that must
// pass (sequential, concurrent, indeterminate operations that did or did not
// take effect) and ones that must fail (stale read, lost write, a value never
// written, two compare-and-sets that both won, a failed CAS that should have
// won), so a green robustness run means something.
#include <gtest/gtest.h>

#include "checker/linearizability.h"

namespace coord::robustness {
namespace {

RegisterOp W(const std::string& v, int64_t call, int64_t ret, int client = 0) {
  RegisterOp op;
  op.kind = RegisterOp::kWrite;
  op.key = "k";
  op.value = v;
  op.call = call;
  op.ret = ret;
  op.client = client;
  return op;
}

RegisterOp R(std::optional<std::string> seen, int64_t call, int64_t ret, int client = 1) {
  RegisterOp op;
  op.kind = RegisterOp::kRead;
  op.key = "k";
  op.observed = std::move(seen);
  op.call = call;
  op.ret = ret;
  op.client = client;
  return op;
}

RegisterOp Cas(std::optional<std::string> expected, const std::string& v, bool won, int64_t call,
               int64_t ret, int client = 2) {
  RegisterOp op;
  op.kind = RegisterOp::kCas;
  op.key = "k";
  op.expected = std::move(expected);
  op.value = v;
  op.cas_succeeded = won;
  op.call = call;
  op.ret = ret;
  op.client = client;
  return op;
}

RegisterOp Unknown(RegisterOp op) {
  op.indeterminate = true;
  op.ret = 0;
  return op;
}

bool Linearizable(const std::vector<RegisterOp>& h) { return CheckRegisterHistory(h).linearizable; }

TEST(Linearizability, SequentialHistoriesPass) {
  EXPECT_TRUE(Linearizable({}));
  EXPECT_TRUE(Linearizable({R(std::nullopt, 1, 2), W("a", 3, 4), R("a", 5, 6), W("b", 7, 8),
                            R("b", 9, 10)}));
  EXPECT_TRUE(Linearizable({W("a", 1, 2), Cas("a", "b", true, 3, 4), R("b", 5, 6),
                            Cas("a", "c", false, 7, 8), R("b", 9, 10)}));
}

TEST(Linearizability, AReadConcurrentWithAWriteMaySeeEitherValue) {
  EXPECT_TRUE(Linearizable({W("a", 1, 2), W("b", 3, 10), R("a", 4, 5)}));
  EXPECT_TRUE(Linearizable({W("a", 1, 2), W("b", 3, 10), R("b", 4, 5)}));
  // Two overlapping reads see the write at different moments: old then new is
  // fine, as the write lies between them.
  EXPECT_TRUE(Linearizable({W("a", 1, 2), W("b", 3, 10), R("a", 4, 6), R("b", 5, 7, 2)}));
}

TEST(Linearizability, AStaleReadFails) {
  // b was acknowledged before the read began, yet the read returned a.
  const auto r = CheckRegisterHistory({W("a", 1, 2), W("b", 3, 4), R("a", 5, 6)});
  EXPECT_FALSE(r.linearizable);
  EXPECT_FALSE(r.exhausted);
  EXPECT_EQ(r.key, "k");
  EXPECT_NE(r.Describe().find("NOT linearizable"), std::string::npos) << r.Describe();
  // Reads that go back in time: once one read saw b, a later one cannot see a.
  EXPECT_FALSE(Linearizable({W("a", 1, 2), W("b", 3, 20), R("b", 4, 5), R("a", 6, 7)}));
}

TEST(Linearizability, ALostWriteFails) {
  // An acknowledged write that a later read does not see, with nothing after it.
  EXPECT_FALSE(Linearizable({W("a", 1, 2), R(std::nullopt, 3, 4)}));
  EXPECT_FALSE(Linearizable({W("a", 1, 2), W("b", 3, 4), R("a", 5, 6), R("b", 7, 8)}));
}

TEST(Linearizability, AValueNeverWrittenFails) {
  EXPECT_FALSE(Linearizable({W("a", 1, 2), R("z", 3, 4)}));
}

TEST(Linearizability, CompareAndSetAnomaliesFail) {
  // Two CAS from the same expected value cannot both win.
  EXPECT_FALSE(Linearizable({W("a", 1, 2), Cas("a", "b", true, 3, 6, 2), Cas("a", "c", true, 4, 7, 3)}));
  // One wins and one loses: fine, in either order.
  EXPECT_TRUE(Linearizable({W("a", 1, 2), Cas("a", "b", true, 3, 6, 2), Cas("a", "c", false, 4, 7, 3)}));
  // A CAS that failed although the value matched and nothing else ran.
  EXPECT_FALSE(Linearizable({W("a", 1, 2), Cas("a", "b", false, 3, 4)}));
  // A CAS on "absent" succeeding after the key was written.
  EXPECT_FALSE(Linearizable({W("a", 1, 2), Cas(std::nullopt, "b", true, 3, 4)}));
}

TEST(Linearizability, IndeterminateOperationsMayOrMayNotHaveHappened) {
  // The write timed out and was applied: a later read sees it.
  EXPECT_TRUE(Linearizable({W("a", 1, 2), Unknown(W("b", 3, 0)), R("b", 10, 11)}));
  // ... or it was not: the later read sees the old value.
  EXPECT_TRUE(Linearizable({W("a", 1, 2), Unknown(W("b", 3, 0)), R("a", 10, 11)}));
  // It may take effect late, even after later reads saw the old value.
  EXPECT_TRUE(Linearizable({W("a", 1, 2), Unknown(W("b", 3, 0)), R("a", 10, 11), R("b", 12, 13)}));
  // But it cannot take effect before it was called.
  EXPECT_FALSE(Linearizable({W("a", 1, 2), R("b", 3, 4), Unknown(W("b", 5, 0))}));
  // An indeterminate CAS applies only where its compare held.
  EXPECT_FALSE(Linearizable({W("x", 1, 2), Unknown(Cas("a", "b", false, 3, 0)), R("b", 5, 6)}));
  // An indeterminate read constrains nothing.
  EXPECT_TRUE(Linearizable({W("a", 1, 2), Unknown(R("zzz", 3, 0))}));
}

TEST(Linearizability, KeysAreCheckedIndependentlyAndTheFailingOneIsNamed) {
  RegisterOp other = W("a", 1, 2);
  other.key = "other";
  RegisterOp bad = R("z", 3, 4);
  bad.key = "broken";
  const auto r = CheckRegisterHistory({W("a", 1, 2), R("a", 3, 4), other, bad});
  EXPECT_FALSE(r.linearizable);
  EXPECT_EQ(r.key, "broken");
}

TEST(Linearizability, ALongConcurrentHistoryIsDecidedQuickly) {
  // 4 clients, 200 operations each, overlapping in pairs: each write is read
  // back by the same client after it returned.
  std::vector<RegisterOp> h;
  int64_t t = 0;
  for (int i = 0; i < 200; ++i) {
    for (int c = 0; c < 4; ++c) {
      const std::string v = std::to_string(i) + "/" + std::to_string(c);
      h.push_back(W(v, t + c, t + 10 + c, c));
    }
    t += 20;
    h.push_back(R(std::to_string(i) + "/3", t, t + 1, 9));
    t += 2;
  }
  const auto r = CheckRegisterHistory(h);
  EXPECT_TRUE(r.linearizable) << r.Describe();
  // And a stale read planted at the end is found.
  h.push_back(R("0/0", t + 5, t + 6, 9));
  EXPECT_FALSE(CheckRegisterHistory(h).linearizable);
}

}  // namespace
}  // namespace coord::robustness
