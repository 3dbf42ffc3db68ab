// The lock checker (checker/lock_history.h) on hand-made histories: clean ones
// pass, superseded holders are reported as fenced, and each violation it exists
// to catch makes it fail.
#include "checker/lock_history.h"

#include <gtest/gtest.h>

namespace coord::robustness {
namespace {

LockHold Hold(int client, int64_t token, int64_t called, int64_t acquired, int64_t released,
              bool acknowledged = true) {
  return LockHold{client, token, called, acquired, released, acknowledged};
}

TEST(LockHistoryChecker, SerialHoldsWithRisingTokensPass) {
  const auto r = CheckLockHistory({Hold(0, 1, 0, 5, 10), Hold(1, 2, 3, 12, 20),
                                   Hold(2, 3, 11, 21, 30), Hold(0, 7, 25, 31, 40)});
  EXPECT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.fenced_overlaps, 0u);
}

TEST(LockHistoryChecker, ConcurrentAcquiresMayGetTokensInEitherOrder) {
  // Both asked before either was granted: the ensemble picked an order.
  EXPECT_TRUE(CheckLockHistory({Hold(0, 2, 0, 5, 10), Hold(1, 1, 1, 4, 4)}).ok);
}

TEST(LockHistoryChecker, ASupersededHolderIsFencedNotAFailure) {
  // Client 0 lost its session (no acknowledged release) and client 1 was granted
  // while client 0 still thought it held; its token is superseded.
  const auto r = CheckLockHistory({Hold(0, 1, 0, 5, 50, false), Hold(1, 2, 10, 20, 30)});
  EXPECT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.fenced_overlaps, 1u);
  // A killed client's hold never ends in its own view.
  EXPECT_TRUE(CheckLockHistory({Hold(0, 1, 0, 5, INT64_MAX, false), Hold(1, 2, 10, 20, 30)}).ok);
}

TEST(LockHistoryChecker, OverlappingCurrentHoldersFail) {
  const auto r = CheckLockHistory({Hold(0, 1, 0, 5, 50), Hold(1, 2, 10, 20, 30)});
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("overlapping holders"), std::string::npos) << r.Describe();
}

TEST(LockHistoryChecker, ADuplicateTokenFails) {
  const auto r = CheckLockHistory({Hold(0, 4, 0, 5, 10), Hold(1, 4, 11, 15, 20)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.Describe().find("duplicate token 4"), std::string::npos) << r.Describe();
}

TEST(LockHistoryChecker, ATokenThatGoesBackFails) {
  // The grant of token 5 returned before token 6 was even asked for... but 6 is
  // older in time: e.g. the counter went back after a restart.
  const auto r = CheckLockHistory({Hold(0, 6, 0, 5, 10), Hold(1, 5, 20, 25, 30)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.Describe().find("token order"), std::string::npos) << r.Describe();
}

}  // namespace
}  // namespace coord::robustness
