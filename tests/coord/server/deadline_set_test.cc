// DeadlineSet: the deadlines the leader's trackers share (sessions, lock waits,
// 2PC timers).
#include "server/deadline_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using Set = DeadlineSet<int, std::string>;

std::vector<int> Due(Set& s, Set::Clock::time_point now) {
  std::vector<int> keys;
  s.TakeDue(now, [&](int key, const std::string&) { keys.push_back(key); });
  return keys;
}

TEST(DeadlineSet, HandsOutWhatIsDueOncePerRetryInterval) {
  Set s(500ms);
  const auto t0 = Set::Clock::now();
  s.Activate({{1, "a", t0 + 1s}, {2, "b", t0 + 2s}});
  EXPECT_TRUE(Due(s, t0).empty());
  EXPECT_EQ(Due(s, t0 + 1s), std::vector<int>{1});
  EXPECT_TRUE(Due(s, t0 + 1200ms).empty()) << "handed out 200 ms ago";
  EXPECT_EQ(Due(s, t0 + 2s), (std::vector<int>{1, 2}));  // 1 again: its proposal was lost
  s.Erase(1);
  EXPECT_EQ(Due(s, t0 + 3s), std::vector<int>{2});
  s.Set(2, "b2", t0 + 10s);  // renewed: a fresh deadline and a fresh retry
  EXPECT_TRUE(Due(s, t0 + 4s).empty());
  EXPECT_EQ(s.size(), 1u);
}

TEST(DeadlineSet, InactiveHoldsNothingAndIgnoresSet) {
  Set s(1s);
  const auto t0 = Set::Clock::now();
  s.Set(1, "a", t0);
  EXPECT_EQ(s.size(), 0u);
  s.Activate({{1, "a", t0}});
  EXPECT_TRUE(s.active());
  s.Deactivate();
  EXPECT_FALSE(s.active());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(Due(s, t0 + 1h).empty());
}

TEST(DeadlineSet, ForEachVisitsInKeyOrderMayEditAndStop) {
  Set s(1s);
  const auto t0 = Set::Clock::now();
  s.Activate({{3, "c", t0}, {1, "a", t0}, {2, "b", t0}});
  std::vector<int> seen;
  s.ForEach([&](int key, std::string& payload, Set::Clock::time_point) {
    seen.push_back(key);
    payload += "!";
    return key < 2;
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  std::vector<std::string> payloads;
  s.ForEach([&](int, std::string& payload, Set::Clock::time_point) {
    payloads.push_back(payload);
    return true;
  });
  EXPECT_EQ(payloads, (std::vector<std::string>{"a!", "b!", "c"}));
}

}  // namespace
}  // namespace coord::server
