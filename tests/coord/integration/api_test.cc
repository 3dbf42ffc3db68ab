// Integration: every request type, routing, watches and sessions.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace coord::test {
namespace {

// ---- every request type, binary and JSON ---------------------------------------

class EveryRequest : public ::testing::TestWithParam<bool> {};

TEST_P(EveryRequest, EveryRequestTypeWorks) {
  const bool json = GetParam();
  const std::string p = json ? "/json/" : "/bin/";
  auto c = Connect(AFollower());
  ASSERT_TRUE(c);

  Response put = Put(*c, p + "a", "1", json);
  ASSERT_TRUE(Ok(put)) << put.DebugString();
  EXPECT_EQ(put.put().key(), p + "a");
  EXPECT_GT(put.header().revision(), 0);
  EXPECT_NE(put.header().member_id(), 0u);

  Response get = Get(*c, p + "a", false, false, json);
  ASSERT_TRUE(Ok(get)) << get.DebugString();
  ASSERT_EQ(get.range().kvs_size(), 1);
  EXPECT_EQ(get.range().kvs(0).value(), "1");

  Response sget = Get(*c, p, true, true, json);
  ASSERT_TRUE(Ok(sget));

  Request txn;
  auto* cmp = txn.mutable_txn()->add_compare();
  cmp->set_key(p + "a");
  cmp->set_target(coord::v1::Compare::VALUE);
  cmp->set_value("1");
  auto* op = txn.mutable_txn()->add_success()->mutable_put();
  op->set_key(p + "b");
  op->set_value("2");
  auto t = c->Call(txn, json);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(Ok(*t)) << t->DebugString();
  EXPECT_TRUE(t->txn().succeeded());

  Request del;
  del.mutable_delete_()->set_key(p + "b");
  auto d = c->Call(del, json);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->delete_().deleted(), 1);

  Request sc;
  sc.mutable_session_create()->set_ttl_ms(5000);
  auto s = c->Call(sc, json);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(Ok(*s)) << s->DebugString();
  const int64_t sid = s->session_create().session_id();
  EXPECT_GT(sid, 0);
  Request ka;
  ka.mutable_session_keepalive()->set_session_id(sid);
  auto k = c->Call(ka, json);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(Ok(*k)) << k->DebugString();
  Request sl;
  sl.mutable_session_list();
  auto l = c->Call(sl, json);
  ASSERT_TRUE(l.ok());
  bool listed = false;
  for (const auto& info : l->session_list().sessions()) listed |= info.session_id() == sid;
  EXPECT_TRUE(listed);
  Request close;
  close.mutable_session_close()->set_session_id(sid);
  auto cl = c->Call(close, json);
  ASSERT_TRUE(cl.ok());
  EXPECT_TRUE(Ok(*cl)) << cl->DebugString();

  Request wc;
  wc.mutable_watch_create()->set_key(p);
  wc.mutable_watch_create()->set_prefix(true);
  auto w = c->Call(wc, json);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(Ok(*w)) << w->DebugString();
  Request wx;
  wx.mutable_watch_cancel()->set_watch_id(w->watch_create().watch_id());
  auto x = c->Call(wx, json);
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(Ok(*x)) << x->DebugString();

  Request cp;
  cp.mutable_compact()->set_revision(put.header().revision());
  auto cpr = c->Call(cp, json);
  ASSERT_TRUE(cpr.ok());
  EXPECT_TRUE(Ok(*cpr)) << cpr->DebugString();

  Request ml;
  ml.mutable_member_list();
  auto m = c->Call(ml, json);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->member_list().members_size(), 3);

  Request st;
  st.mutable_status();
  auto sr = c->Call(st, json);
  ASSERT_TRUE(sr.ok());
  EXPECT_NE(sr->status().leader_id(), 0u);
  EXPECT_EQ(sr->status().members_size(), 3);
}

INSTANTIATE_TEST_SUITE_P(Framing, EveryRequest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Json" : "Binary"; });

// ---- routing and consistency -----------------------------------------------------

TEST(Routing, WriteThroughFollowerIsVisibleToLinearizableReadOnTheLeader) {
  const int leader = Leader();
  auto follower = Connect((leader + 1) % 3);
  auto on_leader = Connect(leader);
  ASSERT_TRUE(follower && on_leader);
  for (int i = 0; i < 20; ++i) {
    const std::string key = "/route/" + std::to_string(i);
    Response put = Put(*follower, key, "v" + std::to_string(i));
    ASSERT_TRUE(Ok(put)) << put.DebugString();
    Response get = Get(*on_leader, key);
    ASSERT_EQ(get.range().kvs_size(), 1) << key;
    EXPECT_EQ(get.range().kvs(0).value(), "v" + std::to_string(i));
  }
}

TEST(Routing, LinearizableReadOnFollowerSeesAcknowledgedWrite) {
  const int leader = Leader();
  auto on_leader = Connect(leader);
  auto other = Connect((leader + 2) % 3);
  ASSERT_TRUE(on_leader && other);
  for (int i = 0; i < 20; ++i) {
    const std::string key = "/lin/" + std::to_string(i);
    ASSERT_TRUE(Ok(Put(*on_leader, key, "x")));
    Response get = Get(*other, key);  // ReadIndex through the follower
    ASSERT_TRUE(Ok(get)) << get.DebugString();
    EXPECT_EQ(get.range().kvs_size(), 1) << key;
  }
}

TEST(Routing, SerializableReadOnFollowerCatchesUp) {
  const int leader = Leader();
  auto on_leader = Connect(leader);
  auto follower = Connect((leader + 1) % 3);
  Response put = Put(*on_leader, "/ser/k", "v");
  ASSERT_TRUE(Ok(put));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    Response get = Get(*follower, "/ser/k", /*serializable=*/true);
    ASSERT_TRUE(Ok(get));
    seen = get.range().kvs_size() == 1;
  }
  EXPECT_TRUE(seen);
}

TEST(Routing, ExactlyOnceRetryReturnsTheOriginalResult) {
  auto c = Connect(AFollower());
  Request r;
  r.set_client_id(987654321);
  r.set_sequence(1);
  r.mutable_put()->set_key("/once");
  r.mutable_put()->set_value("v");
  auto first = c->Call(r);
  r.set_id(0);
  auto again = c->Call(r);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->put().revision(), again->put().revision());
  Response get = Get(*c, "/once");
  EXPECT_EQ(get.range().kvs(0).version(), 1);
}

TEST(Routing, ManyRequestsInFlightOnOneConnection) {
  auto c = Connect(AFollower());
  ASSERT_TRUE(c);
  // Pipeline 100 writes and 100 serializable reads without waiting in between.
  std::set<uint64_t> ids;
  for (int i = 0; i < 100; ++i) {
    Request put;
    put.set_id(c->NextId());
    put.mutable_put()->set_key("/pipe/" + std::to_string(i));
    put.mutable_put()->set_value("v");
    Request get;
    get.set_id(c->NextId());
    get.mutable_range()->set_key("/pipe/");
    get.mutable_range()->set_prefix(true);
    get.mutable_range()->set_serializable(true);
    ids.insert(put.id());
    ids.insert(get.id());
    c->SendRaw(put.SerializeAsString(), false);
    c->SendRaw(get.SerializeAsString(), false);
  }
  while (!ids.empty()) {
    auto m = c->NextAny(10s);
    ASSERT_TRUE(m.ok()) << m.status() << " with " << ids.size() << " replies missing";
    ASSERT_TRUE(m->has_response());
    EXPECT_TRUE(Ok(m->response())) << m->response().DebugString();
    EXPECT_EQ(ids.erase(m->response().id()), 1u) << "unexpected or repeated id";
  }
  EXPECT_EQ(Get(*c, "/pipe/", false, true).range().kvs_size(), 100);
}

// ---- watches -----------------------------------------------------------------------

TEST(Watch, OwnWriteReplyComesBeforeItsEvent) {
  auto c = Connect(AFollower());
  Request wc;
  wc.mutable_watch_create()->set_key("/order/");
  wc.mutable_watch_create()->set_prefix(true);
  auto w = c->Call(wc);
  ASSERT_TRUE(w.ok() && Ok(*w));
  std::vector<uint64_t> put_ids;
  for (int i = 0; i < 10; ++i) {
    Request p;
    p.set_id(c->NextId() + 1000);
    p.mutable_put()->set_key("/order/" + std::to_string(i));
    p.mutable_put()->set_value("v");
    put_ids.push_back(p.id());
    ASSERT_TRUE(c->Call(p).ok());
  }
  // Wait for all ten events.
  int events = 0;
  while (events < 10) {
    auto m = c->NextPushed(5s);
    ASSERT_TRUE(m.ok()) << m.status();
    events += m->watch().events_size();
  }
  // In arrival order: each put's reply precedes the event of its revision.
  std::map<int64_t, size_t> reply_pos, event_pos;
  auto log = c->Log();
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].has_response() && log[i].response().has_put()) {
      reply_pos[log[i].response().put().revision()] = i;
    }
    if (log[i].has_watch() && log[i].watch().events_size() > 0) {
      event_pos[log[i].watch().revision()] = i;
    }
  }
  ASSERT_EQ(reply_pos.size(), 10u);
  for (const auto& [rev, pos] : reply_pos) {
    ASSERT_TRUE(event_pos.count(rev)) << rev;
    EXPECT_LT(pos, event_pos[rev]) << "event of revision " << rev << " before its reply";
  }
  // And events are in revision order with no gaps.
  int64_t prev = 0;
  for (const auto& entry : event_pos) {
    if (prev != 0) {
      EXPECT_EQ(entry.first, prev + 1);
    }
    prev = entry.first;
  }
}

TEST(Watch, ResumeOnAnotherMemberFromLastRevision) {
  const int leader = Leader();
  auto writer = Connect(leader);
  auto first = Connect((leader + 1) % 3);
  Request wc;
  wc.mutable_watch_create()->set_key("/resume/");
  wc.mutable_watch_create()->set_prefix(true);
  auto w = first->Call(wc);
  ASSERT_TRUE(w.ok() && Ok(*w));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Ok(Put(*writer, "/resume/" + std::to_string(i), "a")));
  int64_t last = 0;
  int seen = 0;
  while (seen < 5) {
    auto m = first->NextPushed(5s);
    ASSERT_TRUE(m.ok()) << m.status();
    seen += m->watch().events_size();
    if (m->watch().events_size() > 0) last = m->watch().revision();
  }
  first.reset();  // the client goes away
  for (int i = 5; i < 10; ++i) ASSERT_TRUE(Ok(Put(*writer, "/resume/" + std::to_string(i), "b")));
  auto second = Connect((leader + 2) % 3);
  wc.mutable_watch_create()->set_start_revision(last + 1);
  auto w2 = second->Call(wc);
  ASSERT_TRUE(w2.ok() && Ok(*w2)) << w2->DebugString();
  std::vector<std::string> keys;
  int64_t prev = last;
  while (keys.size() < 5) {
    auto m = second->NextPushed(5s);
    ASSERT_TRUE(m.ok()) << m.status();
    if (m->watch().events_size() == 0) continue;  // progress notification
    EXPECT_EQ(m->watch().revision(), prev + 1);
    prev = m->watch().revision();
    for (const auto& e : m->watch().events()) keys.push_back(e.kv().key());
  }
  EXPECT_EQ(keys.front(), "/resume/5");
  EXPECT_EQ(keys.back(), "/resume/9");
}

// ---- sessions ----------------------------------------------------------------------

TEST(Session, ExpiresAfterClientVanishesAndWatcherSeesDelete) {
  auto watcher = Connect(AFollower());
  Request wc;
  wc.mutable_watch_create()->set_key("/eph/lock");
  auto w = watcher->Call(wc);
  ASSERT_TRUE(w.ok() && Ok(*w));
  int64_t sid = 0;
  {
    auto owner = Connect(Leader());
    Request sc;
    sc.mutable_session_create()->set_ttl_ms(1000);
    auto s = owner->Call(sc);
    ASSERT_TRUE(s.ok() && Ok(*s));
    sid = s->session_create().session_id();
    ASSERT_TRUE(Ok(Put(*owner, "/eph/lock", "me", false, sid)));
  }  // the owner vanishes without closing its session
  bool deleted = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!deleted && std::chrono::steady_clock::now() < deadline) {
    auto m = watcher->NextPushed(10s);
    ASSERT_TRUE(m.ok()) << m.status();
    for (const auto& e : m->watch().events()) {
      if (e.type() == coord::v1::Event::DELETE) deleted = true;
      EXPECT_EQ(e.kv().key(), "/eph/lock");
    }
  }
  EXPECT_TRUE(deleted);
  EXPECT_EQ(Get(*watcher, "/eph/lock").range().kvs_size(), 0);
  Request ka;
  ka.mutable_session_keepalive()->set_session_id(sid);
  auto k = watcher->Call(ka);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->error().code(), coord::v1::SESSION_EXPIRED);
}

TEST(Session, OwnerConnectionIsToldWhenItsSessionExpires) {
  auto owner = Connect(Leader());
  Request sc;
  sc.mutable_session_create()->set_ttl_ms(1000);
  auto s = owner->Call(sc);
  ASSERT_TRUE(s.ok() && Ok(*s));
  // No keepalive: the leader expires the session and pushes a SessionEvent.
  auto m = owner->NextPushed(10s);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->has_session()) << m->DebugString();
  EXPECT_EQ(m->session().session_id(), s->session_create().session_id());
  EXPECT_TRUE(m->session().expired());
}

// Defect 9: forwards were handled on any of the leader's I/O threads, so writes
// one connection pipelined through a follower could be applied out of order.
TEST(Api, PipelinedWritesThroughAFollowerKeepTheirOrder) {
  auto c = Connect(AFollower());
  constexpr int kWrites = 300;
  const std::string key = "/order/pipelined";
  for (int i = 1; i <= kWrites; ++i) {
    Request r;
    r.set_id(static_cast<uint64_t>(1'000'000 + i));
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value(std::to_string(i));
    c->SendRaw(r.SerializeAsString(), false);
  }
  std::map<uint64_t, int64_t> revision_of;
  while (revision_of.size() < kWrites) {
    auto m = c->NextAny(10s);
    ASSERT_TRUE(m.ok()) << m.status() << " after " << revision_of.size();
    if (!m->has_response()) continue;
    ASSERT_TRUE(Ok(m->response())) << m->response().DebugString();
    revision_of[m->response().id()] = m->response().header().revision();
  }
  int64_t last = 0;
  for (const auto& [id, revision] : revision_of) {
    EXPECT_GT(revision, last) << "write " << id - 1'000'000 << " applied before an earlier one";
    last = revision;
  }
  Response got = Get(*c, key);
  ASSERT_EQ(got.range().kvs_size(), 1);
  EXPECT_EQ(got.range().kvs(0).value(), std::to_string(kWrites));
}

}  // namespace
}  // namespace coord::test
