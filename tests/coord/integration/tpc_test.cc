// Integration: the 2PC coordinator and the outbox over WebSocket on the real
// 3-member ensemble — participant subscriptions (reply + pushed prepares and
// decisions), votes and acks from any member, the leader's timeout, and the four
// crash cases of issue 4: the leader killed before the decision, the leader killed
// right after it, a participant disconnected across it, and the coordinator's
// client vanishing after Begin.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lock_util.h"

namespace coord::test {
namespace {

using coord::v1::TpcEvent;
using coord::v1::TpcState;

Response MustCall(WsClient& c, Request r, bool json = false) {
  auto resp = c.Call(std::move(r), json, 15s);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response Begin(WsClient& c, const std::vector<std::string>& participants,
               const std::string& payload, int64_t timeout_ms) {
  Request r;
  for (const std::string& p : participants) r.mutable_tpc_begin()->add_participants(p);
  r.mutable_tpc_begin()->set_payload(payload);
  r.mutable_tpc_begin()->set_timeout_ms(timeout_ms);
  return MustCall(c, r);
}

Response Vote(WsClient& c, uint64_t txn, const std::string& participant, bool yes) {
  Request r;
  r.mutable_tpc_vote()->set_txn_id(txn);
  r.mutable_tpc_vote()->set_participant(participant);
  r.mutable_tpc_vote()->set_vote(yes ? coord::v1::TPC_VOTE_YES : coord::v1::TPC_VOTE_NO);
  return MustCall(c, r);
}

Response Ack(WsClient& c, uint64_t txn, const std::string& participant) {
  Request r;
  r.mutable_tpc_ack()->set_txn_id(txn);
  r.mutable_tpc_ack()->set_participant(participant);
  return MustCall(c, r);
}

Response Get(WsClient& c, uint64_t txn) {
  Request r;
  r.mutable_tpc_get()->set_txn_id(txn);
  return MustCall(c, r);
}

// tpc_list with subscribe: the participant's recovery list; TpcEvents follow.
Response Subscribe(WsClient& c, const std::string& participant, bool json = false) {
  Request r;
  r.mutable_tpc_list()->set_participant(participant);
  r.mutable_tpc_list()->set_subscribe(true);
  return MustCall(c, r, json);
}

// The pushed TpcEvent of `txn` in `state` (other pushes are skipped).
std::optional<TpcEvent> WaitTpcEvent(WsClient& c, uint64_t txn, TpcState state,
                                     std::chrono::milliseconds timeout) {
  auto m = WaitPushed(
      c,
      [&](const coord::v1::ServerMessage& m) {
        return m.has_tpc() && m.tpc().txn_id() == txn && m.tpc().state() == state;
      },
      timeout);
  if (!m) return std::nullopt;
  return m->tpc();
}

// The entry of `txn` in a tpc_list reply, if listed.
std::optional<coord::v1::TpcTxnInfo> Listed(const Response& list, uint64_t txn) {
  for (const auto& t : list.tpc_list().txns()) {
    if (t.txn_id() == txn) return t;
  }
  return std::nullopt;
}

// A write as a client would send it across a failover: an UNAVAILABLE or
// TIMEOUT reply is sent again; 2PC votes and acks are idempotent, so a repeat is
// harmless.
Response Retrying(const std::function<Response()>& call) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  Response r = call();
  // UNAVAILABLE: not applied; TIMEOUT: may have been (votes and acks are
  // idempotent, so both are safe to send again).
  while (r.has_error() &&
         (r.error().code() == coord::v1::UNAVAILABLE || r.error().code() == coord::v1::TIMEOUT) &&
         std::chrono::steady_clock::now() < deadline) {
    r = call();
  }
  return r;
}

// Kills a member for the rest of a scope, then restarts it and waits until the
// ensemble is whole again (also when the test fails), so the next test starts
// from three members.
class KilledMember {
 public:
  explicit KilledMember(int member) : member_(member) { g_ensemble->Kill(member); }
  ~KilledMember() {
    EXPECT_TRUE(g_ensemble->Start(member_).ok());
    EXPECT_TRUE(g_ensemble->WaitStableLeader(20s).ok());
  }

 private:
  int member_;
};

TEST(Tpc, PreparesAndDecisionsArePushedToSubscribedParticipantsOnAnyMember) {
  const std::string a = Fresh("inventory"), b = Fresh("billing");
  auto pa = Connect(AFollower());
  auto pb = Connect(Leader());
  auto coordinator = Connect((Leader() + 2) % 3);
  ASSERT_TRUE(Ok(Subscribe(*pa, a)));
  ASSERT_TRUE(Ok(Subscribe(*pb, b)));

  Response begun = Begin(*coordinator, {a, b}, "order 1", 10'000);
  ASSERT_TRUE(Ok(begun)) << begun.DebugString();
  const uint64_t txn = begun.tpc_begin().txn_id();
  auto prep_a = WaitTpcEvent(*pa, txn, coord::v1::TPC_PREPARING, 5s);
  auto prep_b = WaitTpcEvent(*pb, txn, coord::v1::TPC_PREPARING, 5s);
  ASSERT_TRUE(prep_a && prep_b);
  EXPECT_EQ(prep_a->payload(), "order 1");
  EXPECT_EQ(prep_a->participant(), a);
  EXPECT_EQ(prep_b->participant(), b);

  Response va = Vote(*pa, txn, a, true);
  ASSERT_TRUE(Ok(va)) << va.DebugString();
  EXPECT_EQ(va.tpc_vote().state(), coord::v1::TPC_PREPARING);
  // A repeated identical vote is harmless; a changed one is refused.
  EXPECT_TRUE(Ok(Vote(*pa, txn, a, true)));
  Response changed = Vote(*pa, txn, a, false);
  ASSERT_TRUE(changed.has_error());
  EXPECT_EQ(changed.error().code(), coord::v1::CONFLICT);
  Response stranger = Vote(*pa, txn, Fresh("stranger"), true);
  ASSERT_TRUE(stranger.has_error());
  EXPECT_EQ(stranger.error().code(), coord::v1::PERMISSION_DENIED);

  Response vb = Vote(*pb, txn, b, true);
  ASSERT_TRUE(Ok(vb));
  EXPECT_EQ(vb.tpc_vote().state(), coord::v1::TPC_COMMITTED);
  ASSERT_TRUE(WaitTpcEvent(*pa, txn, coord::v1::TPC_COMMITTED, 5s));
  ASSERT_TRUE(WaitTpcEvent(*pb, txn, coord::v1::TPC_COMMITTED, 5s));
  // A vote contradicting the decision is refused.
  Response late_no = Vote(*pb, txn, b, false);
  ASSERT_TRUE(late_no.has_error());
  EXPECT_EQ(late_no.error().code(), coord::v1::CONFLICT);

  Response ack_a = Ack(*pa, txn, a);
  ASSERT_TRUE(Ok(ack_a));
  EXPECT_FALSE(ack_a.tpc_ack().forgotten());
  Response ack_b = Ack(*pb, txn, b);
  ASSERT_TRUE(Ok(ack_b));
  EXPECT_TRUE(ack_b.tpc_ack().forgotten());
  Response gone = Get(*coordinator, txn);
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code(), coord::v1::NOT_FOUND);
}

TEST(Tpc, JsonSubscriberGetsTextEventsAndANoAborts) {
  const std::string a = Fresh("json-a"), b = Fresh("json-b");
  auto pa = Connect(AFollower());
  Response sub = Subscribe(*pa, a, /*json=*/true);
  ASSERT_TRUE(Ok(sub)) << sub.DebugString();
  EXPECT_EQ(sub.tpc_list().txns_size(), 0);
  auto coordinator = Connect(Leader());
  Response begun = Begin(*coordinator, {a, b}, "p", 10'000);
  ASSERT_TRUE(Ok(begun));
  const uint64_t txn = begun.tpc_begin().txn_id();
  ASSERT_TRUE(WaitTpcEvent(*pa, txn, coord::v1::TPC_PREPARING, 5s));
  Response no = Vote(*coordinator, txn, b, false);
  ASSERT_TRUE(Ok(no));
  EXPECT_EQ(no.tpc_vote().state(), coord::v1::TPC_ABORTED);
  auto aborted = WaitTpcEvent(*pa, txn, coord::v1::TPC_ABORTED, 5s);
  ASSERT_TRUE(aborted);
  EXPECT_NE(aborted->reason().find(b), std::string::npos) << aborted->reason();
  // Subscribing without a participant is an error, and registers nothing.
  Request bad;
  bad.mutable_tpc_list()->set_subscribe(true);
  Response r = MustCall(*pa, bad, true);
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code(), coord::v1::INVALID_ARGUMENT);
}

// Crash case 1: votes reach the leader, which dies before the decision. The votes
// are in the log; the remaining vote on the new leader decides. A transaction
// nobody votes on is aborted by the new leader's timer (rebuilt when it took office).
TEST(Tpc, LeaderKilledAfterSomeVotesBeforeTheDecision) {
  const std::string a = Fresh("k1-a"), b = Fresh("k1-b");
  const int leader = Leader();
  const int survivor = (leader + 1) % 3;
  auto pb = Connect(survivor);
  ASSERT_TRUE(Ok(Subscribe(*pb, b)));
  uint64_t txn = 0, idle = 0;
  {
    auto on_leader = Connect(leader);
    Response begun = Begin(*on_leader, {a, b}, "x", 20'000);
    ASSERT_TRUE(Ok(begun));
    txn = begun.tpc_begin().txn_id();
    Response silent = Begin(*on_leader, {a, b}, "nobody votes", 2'000);
    ASSERT_TRUE(Ok(silent));
    idle = silent.tpc_begin().txn_id();
    ASSERT_TRUE(Ok(Vote(*on_leader, txn, a, true)));
  }
  KilledMember killed(leader);
  Response vb = Retrying([&] { return Vote(*pb, txn, b, true); });
  ASSERT_TRUE(Ok(vb)) << vb.DebugString();
  EXPECT_EQ(vb.tpc_vote().state(), coord::v1::TPC_COMMITTED);
  ASSERT_TRUE(WaitTpcEvent(*pb, txn, coord::v1::TPC_COMMITTED, 5s));
  Response got = Get(*pb, txn);
  ASSERT_TRUE(Ok(got));
  EXPECT_EQ(got.tpc_get().txn().participants(0).vote(), coord::v1::TPC_VOTE_YES);

  auto aborted = WaitTpcEvent(*pb, idle, coord::v1::TPC_ABORTED, 15s);
  ASSERT_TRUE(aborted) << "the new leader did not abort the unvoted transaction";
  EXPECT_EQ(aborted->reason(), "timeout");
}

// Crash case 2: the decision commits and the leader dies at once, before (or
// while) participants are told. The decision stands on the new leader; the
// participants, connected to the dead member, learn it by subscribing elsewhere.
TEST(Tpc, LeaderKilledRightAfterTheDecisionParticipantsLearnItOnReconnect) {
  const std::string a = Fresh("k2-a"), b = Fresh("k2-b");
  const int leader = Leader();
  uint64_t txn = 0;
  std::optional<KilledMember> killed;
  {
    auto pa = Connect(leader);
    auto pb = Connect(leader);
    ASSERT_TRUE(Ok(Subscribe(*pa, a)));
    ASSERT_TRUE(Ok(Subscribe(*pb, b)));
    Response begun = Begin(*pa, {a, b}, "y", 20'000);
    ASSERT_TRUE(Ok(begun));
    txn = begun.tpc_begin().txn_id();
    ASSERT_TRUE(Ok(Vote(*pa, txn, a, true)));
    Response decided = Vote(*pb, txn, b, true);
    ASSERT_TRUE(Ok(decided));
    ASSERT_EQ(decided.tpc_vote().state(), coord::v1::TPC_COMMITTED);
    killed.emplace(leader);  // whatever was pushed is lost with the connections
  }
  for (const std::string& p : {a, b}) {
    auto c = Connect((leader + 1) % 3);
    Response list = Retrying([&] { return Subscribe(*c, p); });
    ASSERT_TRUE(Ok(list)) << list.DebugString();
    auto t = Listed(list, txn);
    ASSERT_TRUE(t.has_value()) << p << " does not see its undelivered decision";
    EXPECT_EQ(t->state(), coord::v1::TPC_COMMITTED);
    ASSERT_TRUE(Ok(Retrying([&] { return Ack(*c, txn, p); })));
  }
  auto c = Connect((leader + 2) % 3);
  Response gone = Get(*c, txn);
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code(), coord::v1::NOT_FOUND);  // every ack forgot it
}

// Crash case 3: a participant votes, disconnects, the decision is made without
// it, and it learns the outcome from the subscription reply when it reconnects.
TEST(Tpc, ParticipantDisconnectedAcrossTheDecisionLearnsItOnReconnect) {
  const std::string a = Fresh("k3-a"), b = Fresh("k3-b");
  auto coordinator = Connect(Leader());
  Response begun = Begin(*coordinator, {a, b}, "z", 20'000);
  ASSERT_TRUE(Ok(begun));
  const uint64_t txn = begun.tpc_begin().txn_id();
  {
    auto pb = Connect(AFollower());
    Response list = Subscribe(*pb, b);
    ASSERT_TRUE(Ok(list));
    auto t = Listed(list, txn);
    ASSERT_TRUE(t.has_value()) << "a late subscriber must see the pending prepare";
    EXPECT_EQ(t->state(), coord::v1::TPC_PREPARING);
    EXPECT_EQ(t->payload(), "z");
    ASSERT_TRUE(Ok(Vote(*pb, txn, b, true)));
  }  // b goes away
  ASSERT_TRUE(Ok(Vote(*coordinator, txn, a, true)));
  auto pb = Connect((Leader() + 2) % 3);
  Response list = Subscribe(*pb, b);
  ASSERT_TRUE(Ok(list));
  auto t = Listed(list, txn);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state(), coord::v1::TPC_COMMITTED);
  ASSERT_TRUE(Ok(Ack(*pb, txn, b)));
  // b owes nothing any more; a still owes its acknowledgement.
  EXPECT_FALSE(Listed(Subscribe(*pb, b), txn).has_value());
  Request la;
  la.mutable_tpc_list()->set_participant(a);
  EXPECT_TRUE(Listed(MustCall(*coordinator, la), txn).has_value());
}

// Crash case 4: the coordinator's client vanishes right after Begin. The
// transaction still resolves: by the votes, or by the leader's timeout. Its
// mirror key is watchable from the begin's revision.
TEST(Tpc, CoordinatorVanishingAfterBeginStillResolvesByVoteOrTimeout) {
  const std::string a = Fresh("k4-a"), b = Fresh("k4-b");
  uint64_t voted = 0, abandoned = 0;
  int64_t begin_revision = 0;
  {
    auto coordinator = Connect(AFollower());
    Response r1 = Begin(*coordinator, {a, b}, "v", 20'000);
    Response r2 = Begin(*coordinator, {a, b}, "t", 1'500);
    ASSERT_TRUE(Ok(r1) && Ok(r2));
    voted = r1.tpc_begin().txn_id();
    abandoned = r2.tpc_begin().txn_id();
    begin_revision = r1.header().revision();
  }  // the coordinator is gone
  auto watcher = Connect(Leader());
  char key[64];
  std::snprintf(key, sizeof key, "/_coord/txn/%020llu", static_cast<unsigned long long>(voted));
  Request w;
  w.mutable_watch_create()->set_key(key);
  w.mutable_watch_create()->set_start_revision(begin_revision);
  ASSERT_TRUE(Ok(MustCall(*watcher, w)));

  auto pa = Connect(AFollower());
  ASSERT_TRUE(Ok(Vote(*pa, voted, a, true)));
  ASSERT_TRUE(Ok(Vote(*pa, voted, b, true)));
  EXPECT_EQ(Get(*pa, voted).tpc_get().txn().state(), coord::v1::TPC_COMMITTED);
  // The watch shows the mirror going PREPARING -> COMMITTED.
  std::vector<std::string> values;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (values.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto m = watcher->NextPushed(1s);
    if (!m.ok() || !m->has_watch()) continue;
    for (const auto& e : m->watch().events()) values.push_back(e.kv().value());
  }
  ASSERT_GE(values.size(), 2u);
  EXPECT_EQ(values[0], "PREPARING");
  EXPECT_EQ(values[1], "COMMITTED");

  // The abandoned one: the subscription reply shows it, or the timeout's
  // decision is pushed after it.
  auto pb = Connect(Leader());
  Response list = Subscribe(*pb, b);
  ASSERT_TRUE(Ok(list));
  auto t = Listed(list, abandoned);
  ASSERT_TRUE(t.has_value());
  if (t->state() != coord::v1::TPC_ABORTED) {
    EXPECT_EQ(t->state(), coord::v1::TPC_PREPARING);
    auto aborted = WaitTpcEvent(*pb, abandoned, coord::v1::TPC_ABORTED, 10s);
    ASSERT_TRUE(aborted) << "the leader's timeout did not abort the abandoned transaction";
    EXPECT_EQ(aborted->reason(), "timeout");
  }
  Response r = Get(*pb, abandoned);
  ASSERT_TRUE(Ok(r)) << r.DebugString();
  EXPECT_EQ(r.tpc_get().txn().state(), coord::v1::TPC_ABORTED);
  EXPECT_EQ(r.tpc_get().txn().reason(), "timeout");
}

// Outbox: a txn changes a key and appends to a topic atomically; a failed compare
// writes neither; consumers read from an offset and commit offsets with a compare.
TEST(Outbox, AppendIsAtomicWithTheTxnAndOffsetsCompareAndSet) {
  const std::string topic = Fresh("/orders/events") + "/";
  const std::string order = Fresh("/orders/o");
  auto c = Connect(AFollower());
  auto append_txn = [&](int64_t expected_version, const std::string& value) {
    Request r;
    auto* t = r.mutable_txn();
    auto* cmp = t->add_compare();
    cmp->set_key(order);
    cmp->set_target(coord::v1::Compare::VERSION);
    cmp->set_op(coord::v1::Compare::EQUAL);
    cmp->set_number(expected_version);
    auto* put = t->add_success()->mutable_put();
    put->set_key(order);
    put->set_value(value);
    auto* append = t->add_success()->mutable_append();
    append->set_topic(topic);
    append->set_value("event:" + value);
    return MustCall(*c, r);
  };
  Response first = append_txn(0, "paid");
  ASSERT_TRUE(Ok(first)) << first.DebugString();
  ASSERT_TRUE(first.txn().succeeded());
  Response stale = append_txn(0, "paid twice");  // the order exists now: compare fails
  ASSERT_TRUE(Ok(stale));
  EXPECT_FALSE(stale.txn().succeeded());

  Request read;
  read.mutable_topic_read()->set_topic(topic);
  Response records = MustCall(*c, read);
  ASSERT_TRUE(Ok(records)) << records.DebugString();
  ASSERT_EQ(records.topic_read().records_size(), 1) << "the failed txn must append nothing";
  EXPECT_EQ(records.topic_read().records(0).value(), "event:paid");
  EXPECT_EQ(records.topic_read().records(0).offset(), 1);
  EXPECT_EQ(Get(*c, order).range().kvs(0).value(), "paid");

  Response second = append_txn(1, "shipped");
  ASSERT_TRUE(Ok(second) && second.txn().succeeded());
  read.mutable_topic_read()->set_from_offset(2);
  records = MustCall(*c, read);
  ASSERT_EQ(records.topic_read().records_size(), 1);
  EXPECT_EQ(records.topic_read().records(0).value(), "event:shipped");
  EXPECT_EQ(records.topic_read().last_offset(), 2);

  Request commit;
  commit.mutable_topic_commit_offset()->set_topic(topic);
  commit.mutable_topic_commit_offset()->set_consumer("billing");
  commit.mutable_topic_commit_offset()->set_expected(0);
  commit.mutable_topic_commit_offset()->set_offset(2);
  ASSERT_TRUE(Ok(MustCall(*c, commit)));
  Response again = MustCall(*c, commit);  // expected 0 is stale now
  ASSERT_TRUE(again.has_error());
  EXPECT_EQ(again.error().code(), coord::v1::CONFLICT);
  commit.mutable_topic_commit_offset()->set_expected(2);
  commit.mutable_topic_commit_offset()->set_offset(3);
  EXPECT_TRUE(Ok(MustCall(*c, commit)));
}

}  // namespace
}  // namespace coord::test
