#include "server/state_adapter.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

using namespace std::chrono_literals;

coord::v1::Response Decode(const std::string& s) {
  coord::v1::Response r;
  EXPECT_TRUE(r.ParseFromString(s));
  return r;
}

TEST(StateAdapterTest, AppliesCommandsAndReturnsTheResponse) {
  StateAdapter a({}, nullptr, nullptr);
  coord::state::Command c;
  c.mutable_put()->set_key("/a");
  c.mutable_put()->set_value("v");
  auto r = Decode(a.Apply(1, c.SerializeAsString()));
  EXPECT_EQ(r.put().key(), "/a");
  EXPECT_EQ(r.header().revision(), 1);
  const int64_t rev = a.Read([](const StateMachine& sm) { return sm.revision(); });
  EXPECT_EQ(rev, 1);
}

TEST(StateAdapterTest, UndecodableEntryIsAnInternalErrorAndChangesNothing) {
  StateAdapter a({}, nullptr, nullptr);
  auto r = Decode(a.Apply(1, std::string("\xff\xff\xff", 3)));
  EXPECT_EQ(r.error().code(), coord::v1::INTERNAL);
  EXPECT_EQ(a.Read([](const StateMachine& sm) { return sm.revision(); }), 0);
  EXPECT_EQ(a.Read([](const StateMachine& sm) { return sm.last_applied_index(); }), 1u);
}

TEST(StateAdapterTest, SnapshotRestoresIntoAnotherInstance) {
  StateAdapter a({}, nullptr, nullptr), b({}, nullptr, nullptr);
  for (int i = 1; i <= 5; ++i) {
    coord::state::Command c;
    c.mutable_put()->set_key("/k" + std::to_string(i));
    c.mutable_put()->set_value("v");
    a.Apply(i, c.SerializeAsString());
  }
  ASSERT_TRUE(b.Restore(a.Snapshot()).ok());
  EXPECT_EQ(b.Snapshot(), a.Snapshot());
  EXPECT_FALSE(b.Restore("garbage").ok());
}

TEST(StateAdapterTest, ReportsRenewalsAndExpiriesToTheTracker) {
  SessionTracker tracker;
  tracker.Activate({}, SessionTracker::Clock::now());
  StateAdapter a({}, nullptr, &tracker);
  std::vector<int64_t> expired;
  a.set_on_sessions_expired([&](const std::vector<int64_t>& ids) {
    expired.insert(expired.end(), ids.begin(), ids.end());
  });
  coord::state::Command create;
  create.mutable_session_create()->set_ttl_ms(1000);
  auto r = Decode(a.Apply(1, create.SerializeAsString()));
  const int64_t sid = r.session_create().session_id();
  ASSERT_GT(sid, 0);
  EXPECT_EQ(tracker.size(), 1u);
  auto due = tracker.TakeExpired(SessionTracker::Clock::now() + 2s);
  ASSERT_TRUE(due);
  a.Apply(2, due->SerializeAsString());
  EXPECT_EQ(expired, std::vector<int64_t>{sid});
  EXPECT_EQ(tracker.size(), 0u);
}

}  // namespace
}  // namespace coord::server
