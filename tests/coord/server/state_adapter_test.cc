#include "server/state_adapter.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

using namespace std::chrono_literals;

coord::v1::Response Decode(Result<std::any> applied) {
  EXPECT_TRUE(applied.ok()) << applied.status().ToString();
  if (!applied.ok()) return {};
  const auto* r = std::any_cast<coord::v1::Response>(&*applied);
  EXPECT_NE(r, nullptr) << "the result is not a Response";
  return r != nullptr ? *r : coord::v1::Response{};
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

// A committed entry this member cannot apply stops the node (an error of Apply)
// instead of being skipped here and applied by newer members: no divergence.
TEST(StateAdapterTest, UndecodableEntryFailsApplyAndChangesNothing) {
  StateAdapter a({}, nullptr, nullptr);
  Result<std::any> r = a.Apply(1, std::string("\xff\xff\xff", 3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(a.Read([](const StateMachine& sm) { return sm.revision(); }), 0);
  EXPECT_EQ(a.Read([](const StateMachine& sm) { return sm.last_applied_index(); }), 0u);
}

TEST(StateAdapterTest, NewerCommandFormatFailsApply) {
  StateAdapter a({}, nullptr, nullptr);
  coord::state::Command c;
  c.mutable_put()->set_key("/a");
  c.set_format(kCommandFormat + 1);
  Result<std::any> r = a.Apply(1, c.SerializeAsString());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("newer"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(a.Read([](const StateMachine& sm) { return sm.last_applied_index(); }), 0u);
}

// A body added by a newer version reaches an older member as an unknown field
// (no body set). Recording "no body" in the dedup table, as before, diverged.
TEST(StateAdapterTest, UnknownCommandBodyFailsApply) {
  StateAdapter a({}, nullptr, nullptr);
  coord::state::Command c;
  c.set_client_id(7);
  c.set_sequence(1);
  std::string data = c.SerializeAsString();
  // Field 999, length-delimited, 2 bytes: a body this version does not know.
  data += std::string("\xba\x3e\x02hi", 5);
  Result<std::any> r = a.Apply(1, data);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal) << r.status().ToString();
}

// A command is stamped with the oldest format that holds it: members one version
// behind keep applying commands without an incarnation, and stop at one with it.
TEST(StateAdapterTest, EncodeCommandStampsTheOldestFormatThatHoldsIt) {
  StateAdapter a({}, nullptr, nullptr);
  coord::state::Command c;
  c.mutable_put()->set_key("/a");
  coord::state::Command back;
  ASSERT_TRUE(back.ParseFromString(EncodeCommand(c)));
  EXPECT_EQ(back.format(), 1u);
  EXPECT_EQ(Decode(a.Apply(1, EncodeCommand(c))).put().key(), "/a");

  c.set_client_id(9);
  c.set_sequence(1);
  c.set_client_incarnation(0xfeedULL);
  ASSERT_TRUE(back.ParseFromString(EncodeCommand(c)));
  EXPECT_EQ(back.format(), 2u);
  EXPECT_EQ(Decode(a.Apply(2, EncodeCommand(c))).put().key(), "/a");

  coord::state::Command retire;
  retire.mutable_member_retire()->set_member_id(5);
  ASSERT_TRUE(back.ParseFromString(EncodeCommand(retire)));
  EXPECT_EQ(back.format(), 3u) << "a member that cannot retire ids must stop, not skip it";
  EXPECT_TRUE(a.Apply(3, EncodeCommand(retire)).ok());

  // A user (auth is on) or an auth body: members without access control must
  // stop rather than apply it unchecked.
  c.set_user("alice");
  ASSERT_TRUE(back.ParseFromString(EncodeCommand(c)));
  EXPECT_EQ(back.format(), 4u);
  coord::state::Command role;
  role.mutable_role_change()->set_name("reader");
  ASSERT_TRUE(back.ParseFromString(EncodeCommand(role)));
  EXPECT_EQ(back.format(), 4u);
  EXPECT_EQ(kCommandFormat, 4u);
}

TEST(StateAdapterTest, SnapshotRestoresIntoAnotherInstance) {
  StateAdapter a({}, nullptr, nullptr), b({}, nullptr, nullptr);
  for (int i = 1; i <= 5; ++i) {
    coord::state::Command c;
    c.mutable_put()->set_key("/k" + std::to_string(i));
    c.mutable_put()->set_value("v");
    ASSERT_TRUE(a.Apply(i, c.SerializeAsString()).ok());
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
  ASSERT_TRUE(a.Apply(2, due->SerializeAsString()).ok());
  EXPECT_EQ(expired, std::vector<int64_t>{sid});
  EXPECT_EQ(tracker.size(), 0u);
}

TEST(StateAdapterTest, ReportsLockWaitsToTheTrackerAndResultsToTheCallback) {
  LockWaitTracker waits;
  waits.Activate({}, LockWaitTracker::Clock::now());
  StateAdapter a({}, nullptr, nullptr);
  a.set_lock_wait_tracker(&waits);
  std::vector<LockGrant> grants;
  std::vector<LockWaitState> queued;
  a.set_on_applied([&](const ApplyResult& r) {
    grants.insert(grants.end(), r.lock_grants.begin(), r.lock_grants.end());
    queued.insert(queued.end(), r.lock_waits_queued.begin(), r.lock_waits_queued.end());
  });
  uint64_t index = 0;
  auto apply = [&](const coord::state::Command& c) {
    return Decode(a.Apply(++index, c.SerializeAsString()));
  };
  coord::state::Command create;
  create.mutable_session_create()->set_ttl_ms(10'000);
  const int64_t s1 = apply(create).session_create().session_id();
  const int64_t s2 = apply(create).session_create().session_id();
  coord::state::Command acquire;
  acquire.mutable_lock_acquire()->set_name("l");
  acquire.mutable_lock_acquire()->set_session(s1);
  ASSERT_TRUE(apply(acquire).lock_acquire().granted());
  acquire.mutable_lock_acquire()->set_session(s2);
  acquire.mutable_lock_acquire()->set_wait(true);
  acquire.mutable_lock_acquire()->set_wait_timeout_ms(500);
  const auto queued_reply = apply(acquire);
  ASSERT_FALSE(queued_reply.lock_acquire().granted());
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].session, s2);
  EXPECT_EQ(waits.size(), 1u);

  coord::state::Command release;
  release.mutable_lock_release()->set_name("l");
  release.mutable_lock_release()->set_session(s1);
  apply(release);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].session, s2);
  EXPECT_EQ(grants[0].acquire_index, queued_reply.lock_acquire().acquire_index());
  EXPECT_EQ(waits.size(), 0u) << "a granted wait leaves the deadline tracker";
}

}  // namespace
}  // namespace coord::server
