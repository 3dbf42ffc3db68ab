// The client port's guards against running out of descriptors (issue 9, defect
// 14): the descriptor budget that sizes the connection cap, the accept back-off
// the rate-limited log line, and the per-source connection counter.
#include <gtest/gtest.h>

#include "server/accept_backoff.h"
#include "server/descriptor_budget.h"
#include "server/log_limiter.h"
#include "server/source_counter.h"

namespace coord::server {
namespace {

using namespace std::chrono_literals;

TEST(DescriptorBudget, KeepsTheReserveOutOfTheClientCap) {
  auto b = PlanDescriptorBudget(1024, 1024, 216, 38);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->reserved, 216u + 38u + kReservedBaseDescriptors);
  EXPECT_EQ(b->client_connections, 1024u - b->reserved);
}

TEST(DescriptorBudget, AHighLimitLeavesTheConfiguredCap) {
  auto b = PlanDescriptorBudget(1 << 20, 1024, 216, 38);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->client_connections, 1024u);
  b = PlanDescriptorBudget(UINT64_MAX, 1024, 216, 38);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->client_connections, 1024u);
}

TEST(DescriptorBudget, ALimitBelowTheReserveIsRefusedWithAHint) {
  auto b = PlanDescriptorBudget(300, 1024, 216, 38);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("ulimit -n"), std::string::npos) << b.status();
  // A small configured cap needs only itself.
  const uint64_t reserved = 216 + 38 + kReservedBaseDescriptors;
  b = PlanDescriptorBudget(reserved + 4, 4, 216, 38);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->client_connections, 4u);
  EXPECT_FALSE(PlanDescriptorBudget(reserved + 3, 4, 216, 38).ok());
}

TEST(AcceptBackoff, DoublesToItsCapAndResetsOnSuccess) {
  AcceptBackoff b;
  EXPECT_EQ(b.OnError(), 10ms);
  EXPECT_EQ(b.OnError(), 20ms);
  EXPECT_EQ(b.OnError(), 40ms);
  for (int i = 0; i < 10; ++i) b.OnError();
  EXPECT_EQ(b.OnError(), AcceptBackoff::kMax);
  b.OnSuccess();
  EXPECT_EQ(b.OnError(), AcceptBackoff::kInitial);
}

TEST(LogLimiter, OneLinePerIntervalCountingTheRest) {
  LogLimiter limiter(10s);
  const auto t0 = LogLimiter::Clock::time_point() + 1h;
  uint64_t suppressed = 99;
  ASSERT_TRUE(limiter.Allow(t0, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limiter.Allow(t0 + 1s, &suppressed));
  EXPECT_FALSE(limiter.Allow(t0 + 5s, &suppressed));
  EXPECT_FALSE(limiter.Allow(t0 + 9s, &suppressed));
  ASSERT_TRUE(limiter.Allow(t0 + 10s, &suppressed));
  EXPECT_EQ(suppressed, 3u);
  ASSERT_TRUE(limiter.Allow(t0 + 30s, &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(SourceCounter, CapsEachAddressAndForgetsAddressesWithoutConnections) {
  SourceCounter counter;
  EXPECT_TRUE(counter.TryAdd("10.0.0.1", 2));
  EXPECT_TRUE(counter.TryAdd("10.0.0.1", 2));
  EXPECT_FALSE(counter.TryAdd("10.0.0.1", 2)) << "at its cap";
  EXPECT_TRUE(counter.TryAdd("10.0.0.2", 2)) << "another address has its own count";
  EXPECT_EQ(counter.sources(), 2u);
  counter.Remove("10.0.0.1");
  EXPECT_TRUE(counter.TryAdd("10.0.0.1", 2)) << "a closed connection frees its place";
  counter.Remove("10.0.0.1");
  counter.Remove("10.0.0.1");
  counter.Remove("10.0.0.2");
  EXPECT_EQ(counter.sources(), 0u) << "no entry is kept for an address with no connection";
  EXPECT_FALSE(counter.TryAdd("10.0.0.3", 0));
  EXPECT_EQ(counter.sources(), 0u) << "a refusal at cap 0 leaves no entry behind";
  counter.Remove("10.0.0.9");  // unknown: ignored
  EXPECT_EQ(counter.sources(), 0u);
}

}  // namespace
}  // namespace coord::server
