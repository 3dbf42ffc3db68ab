// Integration: elections over WebSocket on the real 3-member ensemble.
#include <optional>
#include <string>

#include "lock_util.h"

namespace coord::test {
namespace {

Response Campaign(WsClient& c, const std::string& name, int64_t session, const std::string& value,
                  bool json = false) {
  Request r;
  r.mutable_election_campaign()->set_name(name);
  r.mutable_election_campaign()->set_session(session);
  r.mutable_election_campaign()->set_value(value);
  auto resp = c.Call(r, json);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response LeaderOf(WsClient& c, const std::string& name) {
  Request r;
  r.mutable_election_leader()->set_name(name);
  auto resp = c.Call(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response Proclaim(WsClient& c, const std::string& name, int64_t session, const std::string& value) {
  Request r;
  r.mutable_election_proclaim()->set_name(name);
  r.mutable_election_proclaim()->set_session(session);
  r.mutable_election_proclaim()->set_value(value);
  auto resp = c.Call(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

// The next pushed ElectionLeader event (other pushes are skipped).
std::optional<coord::v1::ElectionLeader> NextElection(WsClient& c) {
  auto m = WaitPushed(
      c, [](const coord::v1::ServerMessage& m) { return m.has_election(); }, 5s);
  if (!m) return std::nullopt;
  return m->election();
}

TEST(Elections, CampaignProclaimAndFailoverToTheNextCandidate) {
  auto a = Connect(Leader());
  auto b = Connect(AFollower());
  auto observer = Connect((AFollower() + 1) % 3);
  const int64_t sa = NewSession(*a), sb = NewSession(*b);
  const std::string name = Fresh("/e/primary");

  // The observer (on a follower) starts before anyone campaigns: no leader.
  Request observe;
  observe.mutable_election_leader()->set_name(name);
  observe.mutable_election_leader()->set_observe(true);
  auto obs = observer->Call(observe);
  ASSERT_TRUE(obs.ok());
  ASSERT_TRUE(obs->has_error());
  EXPECT_EQ(obs->error().code(), coord::v1::NOT_FOUND);
  auto ev = NextElection(*observer);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->session(), 0);

  Response ca = Campaign(*a, name, sa, "A");
  ASSERT_TRUE(Ok(ca)) << ca.DebugString();
  ASSERT_TRUE(ca.election_campaign().leader());
  const int64_t term_a = ca.election_campaign().term();
  EXPECT_GT(term_a, 0);
  Response cb = Campaign(*b, name, sb, "B");
  ASSERT_TRUE(Ok(cb)) << cb.DebugString();
  EXPECT_FALSE(cb.election_campaign().leader());
  EXPECT_EQ(cb.election_campaign().position(), 1);
  ev = NextElection(*observer);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->session(), sa);
  EXPECT_EQ(ev->value(), "A");
  EXPECT_EQ(ev->term(), term_a);

  Response l = LeaderOf(*observer, name);
  ASSERT_TRUE(Ok(l)) << l.DebugString();
  EXPECT_EQ(l.election_leader().leader().session(), sa);
  EXPECT_EQ(l.election_leader().leader().value(), "A");

  Response p = Proclaim(*a, name, sa, "A2");
  ASSERT_TRUE(Ok(p)) << p.DebugString();
  EXPECT_EQ(p.election_proclaim().term(), term_a);
  l = LeaderOf(*observer, name);
  EXPECT_EQ(l.election_leader().leader().value(), "A2");
  ev = NextElection(*observer);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->value(), "A2");
  EXPECT_EQ(ev->term(), term_a);
  Response pb = Proclaim(*b, name, sb, "B!");
  ASSERT_TRUE(pb.has_error());
  EXPECT_EQ(pb.error().code(), coord::v1::CONFLICT);

  // A's session ends: B leads with a higher term.
  Request close;
  close.mutable_session_close()->set_session_id(sa);
  auto cl = a->Call(close);
  ASSERT_TRUE(cl.ok());
  ASSERT_TRUE(Ok(*cl)) << cl->DebugString();
  l = LeaderOf(*observer, name);
  ASSERT_TRUE(Ok(l)) << l.DebugString();
  EXPECT_EQ(l.election_leader().leader().session(), sb);
  EXPECT_EQ(l.election_leader().leader().value(), "B");
  EXPECT_GT(l.election_leader().leader().term(), term_a);
  ev = NextElection(*observer);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->session(), sb);
  EXPECT_EQ(ev->value(), "B");
  EXPECT_EQ(ev->term(), l.election_leader().leader().term());

  Request resign;
  resign.mutable_election_resign()->set_name(name);
  resign.mutable_election_resign()->set_session(sb);
  auto rs = b->Call(resign);
  ASSERT_TRUE(rs.ok());
  EXPECT_TRUE(Ok(*rs)) << rs->DebugString();
  l = LeaderOf(*observer, name);
  ASSERT_TRUE(l.has_error());
  EXPECT_EQ(l.error().code(), coord::v1::NOT_FOUND);
}

// The leader's process goes away without resigning: its connection closes and
// nobody keeps its session alive. At the session's expiry the next candidate leads
// with a higher term, and an observer on another member sees the change.
TEST(Elections, LeaderWhoseSessionExpiresIsReplacedAndObserversSeeIt) {
  const std::string name = Fresh("/e/expiry");
  auto b = Connect(Leader());
  auto observer = Connect(AFollower());
  const int64_t sb = NewSession(*b, 30'000);
  int64_t sa = 0, term_a = 0;
  {
    auto a = Connect(AFollower());
    sa = NewSession(*a, 1'000);  // the shortest TTL: expires ~1 s after the last renewal
    Response ca = Campaign(*a, name, sa, "A");
    ASSERT_TRUE(Ok(ca)) << ca.DebugString();
    ASSERT_TRUE(ca.election_campaign().leader());
    term_a = ca.election_campaign().term();
    Response cb = Campaign(*b, name, sb, "B");
    ASSERT_TRUE(Ok(cb));
    ASSERT_FALSE(cb.election_campaign().leader());
    Request observe;
    observe.mutable_election_leader()->set_name(name);
    observe.mutable_election_leader()->set_observe(true);
    auto obs = observer->Call(observe);
    ASSERT_TRUE(obs.ok() && Ok(*obs));
    auto first = NextElection(*observer);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->session(), sa);
  }                                   // A's process is gone; its session is never renewed again
  auto ev = NextElection(*observer);  // within 5 s: the TTL plus the leader's tick
  ASSERT_TRUE(ev.has_value()) << "no leader change after the leader's session expired";
  EXPECT_EQ(ev->session(), sb);
  EXPECT_EQ(ev->value(), "B");
  EXPECT_GT(ev->term(), term_a);
  Response l = LeaderOf(*b, name);
  ASSERT_TRUE(Ok(l));
  EXPECT_EQ(l.election_leader().leader().session(), sb);
  EXPECT_EQ(l.election_leader().leader().term(), ev->term());
}

TEST(Elections, UnobserveEndsTheStreamAfterItsReply) {
  const std::string name = Fresh("/e/unobserve");
  auto candidate = Connect(Leader());
  auto observer = Connect(AFollower());
  const int64_t s = NewSession(*candidate);
  Request observe;
  observe.mutable_election_leader()->set_name(name);
  observe.mutable_election_leader()->set_observe(true);
  ASSERT_TRUE(observer->Call(observe).ok());
  ASSERT_TRUE(NextElection(*observer).has_value());  // the current state: no leader
  Request unobserve;
  unobserve.mutable_election_leader()->set_name(name);
  unobserve.mutable_election_leader()->set_unobserve(true);
  auto u = observer->Call(unobserve);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(Ok(*u)) << u->DebugString();
  auto again = observer->Call(unobserve);  // nothing left to end
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->has_error());
  EXPECT_EQ(again->error().code(), coord::v1::NOT_FOUND);
  ASSERT_TRUE(Ok(Campaign(*candidate, name, s, "v")));
  // A marker write watched on the same connection: once its event arrives, an
  // election event of the campaign (applied before it) would have arrived too.
  const std::string marker = name + "/marker";
  Request w;
  w.mutable_watch_create()->set_key(marker);
  ASSERT_TRUE(observer->Call(w).ok());
  ASSERT_TRUE(Ok(Put(*candidate, marker, "m")));
  bool saw_marker = false;
  while (!saw_marker) {
    auto m = observer->NextPushed(5s);
    ASSERT_TRUE(m.ok()) << "the marker's watch event did not arrive";
    EXPECT_FALSE(m->has_election()) << "an election event after unobserve: " << m->DebugString();
    saw_marker = m->has_watch() && m->watch().events_size() > 0;
  }
}

TEST(Elections, JsonCampaign) {
  auto a = Connect(AFollower());
  const std::string name = Fresh("/e/json");
  const int64_t sa = NewSession(*a, 10'000, true);
  Response ca = Campaign(*a, name, sa, "v", true);
  ASSERT_TRUE(Ok(ca)) << ca.DebugString();
  EXPECT_TRUE(ca.election_campaign().leader());
  EXPECT_GT(ca.election_campaign().term(), 0);
  a->SendRaw("{\"id\":\"900002\",\"electionLeader\":{\"name\":\"" + name + "\"}}", true);
  bool seen = false;
  for (int i = 0; i < 10 && !seen; ++i) {
    auto m = a->NextAny(5s);
    ASSERT_TRUE(m.ok());
    if (m->has_response() && m->response().id() == 900002) {
      seen = true;
      ASSERT_TRUE(Ok(m->response())) << m->DebugString();
      EXPECT_EQ(m->response().election_leader().leader().session(), sa);
      EXPECT_EQ(m->response().election_leader().leader().value(), "v");
    }
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace coord::test
