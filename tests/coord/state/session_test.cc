// Sessions: create (TTL clamping), keepalive, close and expiry deleting ephemeral
// keys with events, puts with unknown sessions, checkpoints.
#include <gtest/gtest.h>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

TEST(SessionTest, CreateClampsTtlAndCountsIds) {
  StateMachineOptions o;
  o.min_session_ttl_ms = 1000;
  o.max_session_ttl_ms = 60'000;
  o.default_session_ttl_ms = 10'000;
  Driver d(o);
  ApplyResult a = d.Apply(SessionCreateCmd(5));
  EXPECT_EQ(a.response.session_create().session_id(), 1);
  EXPECT_EQ(a.response.session_create().ttl_ms(), 1000);
  ApplyResult b = d.Apply(SessionCreateCmd(999'999));
  EXPECT_EQ(b.response.session_create().session_id(), 2);
  EXPECT_EQ(b.response.session_create().ttl_ms(), 60'000);
  EXPECT_EQ(d.Apply(SessionCreateCmd(0)).response.session_create().ttl_ms(), 10'000);
  EXPECT_EQ(d.Apply(SessionCreateCmd(-1)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.sm.revision(), 0);  // sessions do not touch the key space

  std::vector<SessionState> s = d.sm.Sessions();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].session_id, 1);
  EXPECT_EQ(s[0].remaining_ms, 1000);
  EXPECT_EQ(s[0].renewed_index, 1u);
}

TEST(SessionTest, PutWithUnknownSessionIsSessionExpired) {
  Driver d;
  ApplyResult r = d.Apply(PutCmd("/eph", "v", /*session=*/42));
  EXPECT_EQ(r.response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.Value("/eph"), "<none>");
  int64_t id = d.CreateSession();
  d.Apply(CloseCmd(id));
  EXPECT_EQ(d.Apply(PutCmd("/eph", "v", id)).response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.sm.revision(), 0);
}

TEST(SessionTest, KeepAliveAndCheckpoint) {
  Driver d;
  int64_t id = d.CreateSession(8000);
  Command cp;
  auto* e = cp.mutable_session_checkpoint()->add_sessions();
  e->set_session_id(id);
  e->set_remaining_ms(3000);
  d.Apply(cp);
  EXPECT_EQ(d.sm.Sessions()[0].remaining_ms, 3000);
  EXPECT_EQ(d.sm.ListSessions(false).sessions(0).remaining_ms(), 3000);

  ApplyResult ka = d.Apply(KeepAliveCmd(id));
  ASSERT_EQ(ka.response.error().code(), pb::OK);
  EXPECT_EQ(ka.response.session_keepalive().ttl_ms(), 8000);
  EXPECT_EQ(d.sm.Sessions()[0].remaining_ms, 8000);
  EXPECT_EQ(d.sm.Sessions()[0].renewed_index, d.index);

  // A checkpoint decided before that keepalive (older renewed_index) is ignored.
  e->set_renewed_index(1);
  e->set_remaining_ms(100);
  d.Apply(cp);
  EXPECT_EQ(d.sm.Sessions()[0].remaining_ms, 8000);
  // A current one applies, clamped to [0, ttl].
  e->set_renewed_index(d.sm.Sessions()[0].renewed_index);
  e->set_remaining_ms(-5);
  d.Apply(cp);
  EXPECT_EQ(d.sm.Sessions()[0].remaining_ms, 0);
  e->set_remaining_ms(1'000'000);
  d.Apply(cp);
  EXPECT_EQ(d.sm.Sessions()[0].remaining_ms, 8000);

  EXPECT_EQ(d.Apply(KeepAliveCmd(99)).response.error().code(), pb::NOT_FOUND);
  EXPECT_EQ(d.Apply(KeepAliveCmd(0)).response.error().code(), pb::INVALID_ARGUMENT);
}

TEST(SessionTest, ExpiryDeletesEphemeralKeysAtOneRevision) {
  Driver d;
  int64_t id = d.CreateSession();
  int64_t other = d.CreateSession();
  d.Apply(PutCmd("/e/1", "a", id));
  d.Apply(PutCmd("/e/2", "b", id));
  d.Apply(PutCmd("/e/3", "c", other));
  d.Apply(PutCmd("/p", "persistent"));
  ApplyResult seq = d.Apply(SequentialCmd("/e/q/", "s", id));
  const std::string seq_key = seq.response.put().key();
  // Re-putting /e/2 without a session makes it persistent.
  d.Apply(PutCmd("/e/2", "b2"));
  pb::SessionListResponse listed = d.sm.ListSessions(true);
  ASSERT_EQ(listed.sessions(0).keys_size(), 2);
  EXPECT_EQ(listed.sessions(0).keys(0), "/e/1");
  EXPECT_EQ(listed.sessions(0).keys(1), seq_key);

  const int64_t before = d.sm.revision();
  ApplyResult r = d.Apply(ExpireCmd(id));
  EXPECT_EQ(r.expired_sessions, std::vector<int64_t>{id});
  EXPECT_EQ(d.sm.revision(), before + 1);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].event.type(), pb::Event::DELETE);
  EXPECT_EQ(r.events[0].event.kv().key(), "/e/1");
  EXPECT_EQ(r.events[0].event.prev_kv().session(), id);
  EXPECT_EQ(r.events[1].event.kv().key(), seq_key);
  EXPECT_EQ(d.Value("/e/1"), "<none>");
  EXPECT_EQ(d.Value("/e/2"), "b2");
  EXPECT_EQ(d.Value("/e/3"), "c");
  EXPECT_EQ(d.sm.Sessions().size(), 1u);
  EXPECT_EQ(d.Apply(KeepAliveCmd(id)).response.error().code(), pb::SESSION_EXPIRED);

  // Expiring it again does nothing.
  ApplyResult again = d.Apply(ExpireCmd(id));
  EXPECT_TRUE(again.expired_sessions.empty());
  EXPECT_TRUE(again.events.empty());
}

TEST(SessionTest, ExpiryLosesToALaterKeepAlive) {
  Driver d;
  int64_t id = d.CreateSession();
  const uint64_t seen = d.sm.Sessions()[0].renewed_index;
  d.Apply(PutCmd("/e", "v", id));
  d.Apply(KeepAliveCmd(id));  // applied between the leader's decision and its expiry
  ApplyResult r = d.Apply(ExpireCmd(id, seen));
  EXPECT_TRUE(r.expired_sessions.empty());
  EXPECT_EQ(d.Value("/e"), "v");
  ApplyResult current = d.Apply(ExpireCmd(id, d.sm.Sessions()[0].renewed_index));
  EXPECT_EQ(current.expired_sessions, std::vector<int64_t>{id});
  EXPECT_EQ(d.Value("/e"), "<none>");
}

TEST(SessionTest, CloseDeletesKeysAndReportsTheSession) {
  Driver d;
  int64_t id = d.CreateSession();
  d.Apply(PutCmd("/lock/owner", "me", id));
  ApplyResult r = d.Apply(CloseCmd(id));
  ASSERT_EQ(r.response.error().code(), pb::OK);
  EXPECT_TRUE(r.response.has_session_close());
  EXPECT_EQ(r.closed_sessions, std::vector<int64_t>{id});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event.kv().key(), "/lock/owner");
  EXPECT_EQ(d.sm.key_count(), 0u);
  EXPECT_EQ(d.Apply(CloseCmd(id)).response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.Apply(CloseCmd(1234)).response.error().code(), pb::NOT_FOUND);
  // Closing a session without keys creates no revision.
  int64_t empty = d.CreateSession();
  const int64_t before = d.sm.revision();
  d.Apply(CloseCmd(empty));
  EXPECT_EQ(d.sm.revision(), before);
}

TEST(SessionTest, MovingAKeyBetweenSessions) {
  Driver d;
  int64_t a = d.CreateSession();
  int64_t b = d.CreateSession();
  d.Apply(PutCmd("/k", "1", a));
  d.Apply(PutCmd("/k", "2", b));
  d.Apply(CloseCmd(a));
  EXPECT_EQ(d.Value("/k"), "2");  // no longer a's key
  d.Apply(CloseCmd(b));
  EXPECT_EQ(d.Value("/k"), "<none>");
}

// Defect 15: one client created 150,000 sessions. The ensemble now holds at
// most max_sessions; a create past it changes nothing and says why.
TEST(SessionTest, CreatesPastTheEnsembleCapAreResourceExhausted) {
  StateMachineOptions o;
  o.max_sessions = 3;
  Driver d(o);
  for (int i = 0; i < 3; ++i) ASSERT_GT(d.CreateSession(), 0);
  ApplyResult over = d.Apply(SessionCreateCmd(5000));
  EXPECT_EQ(over.response.error().code(), pb::RESOURCE_EXHAUSTED);
  EXPECT_NE(over.response.error().message().find("limit"), std::string::npos);
  EXPECT_EQ(d.sm.Sessions().size(), 3u);
  d.Apply(CloseCmd(2));
  EXPECT_EQ(d.CreateSession(), 4);  // room again once one ended
}

// Defect 15: the session list was one unpaged reply (9.6 MB). It comes in pages
// by id now, bounded by count and by bytes.
TEST(SessionTest, SessionListIsPagedByIdCountAndBytes) {
  Driver d;
  for (int i = 0; i < 12; ++i) d.CreateSession();
  d.Apply(PutCmd("/owned", std::string(100, 'k'), 3));
  pb::SessionListRequest req;
  req.set_limit(5);
  pb::SessionListResponse page = *d.sm.ListSessions(req, 1 << 20);
  ASSERT_EQ(page.sessions_size(), 5);
  EXPECT_EQ(page.sessions(0).session_id(), 1);
  EXPECT_EQ(page.sessions(2).keys(0), "/owned");
  EXPECT_TRUE(page.more());
  req.set_after_session_id(page.sessions(4).session_id());
  page = *d.sm.ListSessions(req, 1 << 20);
  ASSERT_EQ(page.sessions_size(), 5);
  EXPECT_EQ(page.sessions(0).session_id(), 6);
  req.set_after_session_id(10);
  page = *d.sm.ListSessions(req, 1 << 20);
  ASSERT_EQ(page.sessions_size(), 2);
  EXPECT_FALSE(page.more());
  // No limit: the default page; a small byte budget: fewer, but never none.
  pb::SessionListRequest all;
  EXPECT_EQ(d.sm.ListSessions(all, 1 << 20)->sessions_size(), 12);
  page = *d.sm.ListSessions(all, 30);
  EXPECT_GE(page.sessions_size(), 1);
  EXPECT_LT(page.sessions_size(), 12);
  EXPECT_TRUE(page.more());
  page = *d.sm.ListSessions(all, 1);
  EXPECT_EQ(page.sessions_size(), 1);
  EXPECT_TRUE(page.more());
  // A negative limit or start is an error, as for ranges.
  pb::SessionListRequest bad;
  bad.set_limit(-1);
  EXPECT_EQ(d.sm.ListSessions(bad, 1 << 20).status().code(), StatusCode::kInvalidArgument);
  bad.set_limit(0);
  bad.set_after_session_id(-5);
  EXPECT_EQ(d.sm.ListSessions(bad, 1 << 20).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coord::server::testing
