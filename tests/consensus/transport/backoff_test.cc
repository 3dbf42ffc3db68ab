#include "transport/backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace coord::raft::transport {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesWithJitterUpToMax) {
  Backoff b(milliseconds(50), milliseconds(2000), 1);
  // Undithered steps: 50, 100, 200, 400, 800, 1600, 2000, 2000.
  const std::vector<int64_t> steps = {50, 100, 200, 400, 800, 1600, 2000, 2000};
  for (int64_t step : steps) {
    EXPECT_EQ(b.current().count(), step);
    milliseconds d = b.Next();
    EXPECT_GE(d.count(), step / 2) << "step " << step;
    EXPECT_LE(d.count(), step) << "step " << step;
  }
}

TEST(BackoffTest, ResetReturnsToInitial) {
  Backoff b(milliseconds(50), milliseconds(2000), 1);
  for (int i = 0; i < 5; ++i) (void)b.Next();
  EXPECT_GT(b.current().count(), 50);
  b.Reset();
  EXPECT_EQ(b.current().count(), 50);
  EXPECT_LE(b.Next().count(), 50);
}

TEST(BackoffTest, SameSeedSameDelaysAndJitterVaries) {
  Backoff a(milliseconds(1000), milliseconds(1000), 7);
  Backoff b(milliseconds(1000), milliseconds(1000), 7);
  bool varied = false;
  milliseconds first = a.Next();
  EXPECT_EQ(first, b.Next());
  for (int i = 0; i < 50; ++i) {
    milliseconds d = a.Next();
    EXPECT_EQ(d, b.Next());
    varied = varied || d != first;
  }
  EXPECT_TRUE(varied) << "jitter never changed the delay";
}

TEST(BackoffTest, ClampsBadBounds) {
  Backoff b(milliseconds(0), milliseconds(0), 1);
  EXPECT_GE(b.Next().count(), 1);
}

}  // namespace
}  // namespace coord::raft::transport
