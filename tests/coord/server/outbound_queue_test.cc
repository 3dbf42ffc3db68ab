#include "server/outbound_queue.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

OutboundFrame F(const std::string& s) { return OutboundFrame{s, false}; }

TEST(OutboundQueueTest, ReadyMessagesLeaveInOrder) {
  OutboundQueue q(10);
  q.Push(F("a"));
  q.Push(F("b"));
  EXPECT_EQ(q.PopReady()->payload, "a");
  EXPECT_EQ(q.PopReady()->payload, "b");
  EXPECT_FALSE(q.PopReady());
}

TEST(OutboundQueueTest, ReservedSlotHoldsLaterEventsUntilFilled) {
  OutboundQueue q(10);
  const uint64_t slot = q.Reserve();
  ASSERT_TRUE(q.PushEvent(7, F("event-of-my-write")));
  EXPECT_FALSE(q.PopReady()) << "an event must not overtake the pending reply";
  q.Fill(slot, F("reply"));
  EXPECT_EQ(q.PopReady()->payload, "reply");
  EXPECT_EQ(q.PopReady()->payload, "event-of-my-write");
}

TEST(OutboundQueueTest, SlotsFilledOutOfOrderLeaveInReservationOrder) {
  OutboundQueue q(10);
  const uint64_t s1 = q.Reserve();
  const uint64_t s2 = q.Reserve();
  q.Fill(s2, F("second"));
  EXPECT_FALSE(q.PopReady());
  q.Fill(s1, F("first"));
  EXPECT_EQ(q.PopReady()->payload, "first");
  EXPECT_EQ(q.PopReady()->payload, "second");
}

TEST(OutboundQueueTest, FillOfUnknownOrFilledSlotIsIgnored) {
  OutboundQueue q(10);
  const uint64_t s = q.Reserve();
  q.Fill(s + 100, F("bogus"));
  q.Fill(s, F("ok"));
  q.Fill(s, F("again"));
  EXPECT_EQ(q.PopReady()->payload, "ok");
  EXPECT_FALSE(q.PopReady());
}

TEST(OutboundQueueTest, PerWatchBoundRefusesAndRecoversAfterWrites) {
  OutboundQueue q(2);
  EXPECT_TRUE(q.PushEvent(1, F("e1")));
  EXPECT_TRUE(q.PushEvent(1, F("e2")));
  EXPECT_FALSE(q.PushEvent(1, F("e3")));
  EXPECT_TRUE(q.PushEvent(2, F("other watch")));
  EXPECT_EQ(q.pending_events(1), 2u);
  EXPECT_EQ(q.PopReady()->payload, "e1");
  EXPECT_EQ(q.pending_events(1), 1u);
  EXPECT_TRUE(q.PushEvent(1, F("e3")));
}

TEST(OutboundQueueTest, CountsTheBytesItHolds) {
  OutboundQueue q(10);
  const uint64_t slot = q.Reserve();
  EXPECT_EQ(q.bytes(), 0u) << "a reserved slot holds nothing yet";
  q.Push(F("abc"));
  ASSERT_TRUE(q.PushEvent(1, F("de")));
  q.Fill(slot, F("wxyz"));
  EXPECT_EQ(q.bytes(), 9u);
  q.Fill(slot, F("ignored, already filled"));
  EXPECT_EQ(q.bytes(), 9u);
  EXPECT_EQ(q.PopReady()->payload, "wxyz");
  EXPECT_EQ(q.bytes(), 5u);
  q.Clear();
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.pending_events(1), 0u);
}

}  // namespace
}  // namespace coord::server
