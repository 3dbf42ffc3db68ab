// 2PC transactions: decisions by votes and by timeout, repeated and contradicting
// votes, who may vote and ack, forgetting (acks, retention), the in-doubt list, the
// mirror key, exactly-once begins, the leader's timers, and snapshots.
#include <gtest/gtest.h>

#include "coord/state/tpc_test_util.h"

namespace coord::server::testing {
namespace {

uint64_t Begin(Driver& d, const std::vector<std::string>& participants) {
  ApplyResult r = d.Apply(BeginCmd(participants));
  EXPECT_EQ(r.response.error().code(), pb::OK) << r.response.error().message();
  return r.response.tpc_begin().txn_id();
}

std::string MirrorKey(uint64_t txn) {
  std::string digits = std::to_string(txn);
  return "/_coord/txn/" + std::string(20 - digits.size(), '0') + digits;
}

TEST(TpcTest, AllYesCommitsInTheDecidingVote) {
  Driver d;
  ApplyResult begin = d.Apply(BeginCmd({"a", "b", "c"}, "payload", 7000));
  ASSERT_EQ(begin.response.error().code(), pb::OK);
  const uint64_t txn = begin.response.tpc_begin().txn_id();
  EXPECT_EQ(txn, 1u);
  EXPECT_EQ(begin.response.tpc_begin().timeout_ms(), 7000);
  ASSERT_EQ(begin.tpc_prepares.size(), 1u);
  EXPECT_EQ(begin.tpc_prepares[0].txn_id, txn);
  EXPECT_EQ(begin.tpc_prepares[0].participants, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(begin.tpc_prepares[0].payload, "payload");
  ASSERT_EQ(begin.tpc_timers.size(), 1u);
  EXPECT_EQ(begin.tpc_timers[0].kind, TpcTimerKind::kTimeout);
  EXPECT_EQ(begin.tpc_timers[0].after_ms, 7000);
  EXPECT_EQ(d.Value(MirrorKey(txn)), "PREPARING");

  for (const char* p : {"a", "b"}) {
    ApplyResult v = d.Apply(VoteCmd(txn, p, true));
    ASSERT_EQ(v.response.error().code(), pb::OK) << v.response.error().message();
    EXPECT_EQ(v.response.tpc_vote().state(), pb::TPC_PREPARING);
    EXPECT_TRUE(v.tpc_decisions.empty());
  }
  const int64_t before = d.sm.revision();
  ApplyResult last = d.Apply(VoteCmd(txn, "c", true));
  EXPECT_EQ(last.response.tpc_vote().state(), pb::TPC_COMMITTED);
  ASSERT_EQ(last.tpc_decisions.size(), 1u);
  EXPECT_EQ(last.tpc_decisions[0].state, pb::TPC_COMMITTED);
  EXPECT_EQ(last.tpc_decisions[0].participants, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(last.tpc_timers.size(), 1u);
  EXPECT_EQ(last.tpc_timers[0].kind, TpcTimerKind::kForget);
  // The decision is a write: watchers of the mirror key see it at one new revision.
  EXPECT_EQ(d.sm.revision(), before + 1);
  ASSERT_EQ(last.events.size(), 1u);
  EXPECT_EQ(last.events[0].event.kv().key(), MirrorKey(txn));
  EXPECT_EQ(last.events[0].event.kv().value(), "COMMITTED");

  pb::Response get = TpcGetOf(d, txn);
  ASSERT_EQ(get.error().code(), pb::OK);
  const pb::TpcTxnInfo& info = get.tpc_get().txn();
  EXPECT_EQ(info.state(), pb::TPC_COMMITTED);
  EXPECT_EQ(info.payload(), "payload");
  EXPECT_EQ(info.decided_index(), d.index);
  ASSERT_EQ(info.participants_size(), 3);
  for (const pb::TpcParticipant& p : info.participants()) {
    EXPECT_EQ(p.vote(), pb::TPC_VOTE_YES);
    EXPECT_FALSE(p.acked());
  }
}

TEST(TpcTest, OneNoAbortsAndLaterVotesMustAgree) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b", "c"});
  d.Apply(VoteCmd(txn, "a", true));
  ApplyResult no = d.Apply(VoteCmd(txn, "b", false));
  EXPECT_EQ(no.response.tpc_vote().state(), pb::TPC_ABORTED);
  ASSERT_EQ(no.tpc_decisions.size(), 1u);
  EXPECT_EQ(no.tpc_decisions[0].state, pb::TPC_ABORTED);
  EXPECT_EQ(no.tpc_decisions[0].reason, "vote NO by b");
  EXPECT_EQ(d.Value(MirrorKey(txn)), "ABORTED");

  // c had not voted: YES contradicts the abort, NO agrees with it.
  ApplyResult yes = d.Apply(VoteCmd(txn, "c", true));
  EXPECT_EQ(yes.response.error().code(), pb::CONFLICT);
  EXPECT_NE(yes.response.error().message().find("already ABORTED"), std::string::npos)
      << yes.response.error().message();
  ApplyResult late_no = d.Apply(VoteCmd(txn, "c", false));
  EXPECT_EQ(late_no.response.error().code(), pb::OK);
  EXPECT_EQ(late_no.response.tpc_vote().state(), pb::TPC_ABORTED);
  EXPECT_TRUE(late_no.tpc_decisions.empty()) << "decided once only";
}

TEST(TpcTest, TimeoutAbortsPresumedAbort) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  d.Apply(VoteCmd(txn, "a", true));
  ApplyResult t = d.Apply(TpcTimeoutCmd(txn));
  ASSERT_EQ(t.tpc_decisions.size(), 1u);
  EXPECT_EQ(t.tpc_decisions[0].state, pb::TPC_ABORTED);
  EXPECT_EQ(t.tpc_decisions[0].reason, "timeout");
  pb::Response get = TpcGetOf(d, txn);
  EXPECT_EQ(get.tpc_get().txn().state(), pb::TPC_ABORTED);
  EXPECT_EQ(get.tpc_get().txn().decided_index(), d.index);
  // The YES that arrives too late is told the outcome as an error.
  ApplyResult late = d.Apply(VoteCmd(txn, "b", true));
  EXPECT_EQ(late.response.error().code(), pb::CONFLICT);
  EXPECT_NE(late.response.error().message().find("timeout"), std::string::npos);
}

TEST(TpcTest, TimeoutAfterDecisionIsIgnored) {
  Driver d;
  const uint64_t txn = Begin(d, {"a"});
  ASSERT_EQ(d.Apply(VoteCmd(txn, "a", true)).response.tpc_vote().state(), pb::TPC_COMMITTED);
  const std::string snapshot = d.sm.Snapshot();
  const int64_t revision = d.sm.revision();
  ApplyResult t = d.Apply(TpcTimeoutCmd(txn));
  EXPECT_EQ(t.response.error().code(), pb::OK);
  EXPECT_TRUE(t.tpc_decisions.empty());
  EXPECT_EQ(d.sm.revision(), revision);
  EXPECT_EQ(TpcGetOf(d, txn).tpc_get().txn().state(), pb::TPC_COMMITTED);
  // A timeout of a txn that never existed is equally harmless.
  EXPECT_TRUE(d.Apply(TpcTimeoutCmd(99)).tpc_decisions.empty());
  Driver other;
  ASSERT_TRUE(other.sm.Restore(snapshot).ok());
  EXPECT_EQ(TpcGetOf(other, txn).SerializeAsString(), TpcGetOf(d, txn).SerializeAsString());
}

TEST(TpcTest, RepeatedIdenticalVoteIsHarmless) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  ApplyResult first = d.Apply(VoteCmd(txn, "a", true));
  const std::string snapshot_after_first = TpcGetOf(d, txn).tpc_get().SerializeAsString();
  ApplyResult again = d.Apply(VoteCmd(txn, "a", true));
  EXPECT_EQ(again.response.error().code(), pb::OK);
  EXPECT_EQ(again.response.tpc_vote().state(), first.response.tpc_vote().state());
  EXPECT_EQ(TpcGetOf(d, txn).tpc_get().SerializeAsString(), snapshot_after_first);
  d.Apply(VoteCmd(txn, "b", true));
  ApplyResult after = d.Apply(VoteCmd(txn, "b", true));
  EXPECT_EQ(after.response.error().code(), pb::OK);
  EXPECT_EQ(after.response.tpc_vote().state(), pb::TPC_COMMITTED);
  EXPECT_TRUE(after.tpc_decisions.empty());
}

TEST(TpcTest, ChangedVoteIsConflict) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  d.Apply(VoteCmd(txn, "a", true));
  ApplyResult changed = d.Apply(VoteCmd(txn, "a", false));
  EXPECT_EQ(changed.response.error().code(), pb::CONFLICT);
  EXPECT_NE(changed.response.error().message().find("already voted YES"), std::string::npos)
      << changed.response.error().message();
  EXPECT_EQ(TpcGetOf(d, txn).tpc_get().txn().state(), pb::TPC_PREPARING);
  // After a commit, a NO from a YES voter is rejected too.
  d.Apply(VoteCmd(txn, "b", true));
  EXPECT_EQ(d.Apply(VoteCmd(txn, "b", false)).response.error().code(), pb::CONFLICT);
}

TEST(TpcTest, BadVotesAndAcksAreRejected) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  ApplyResult stranger = d.Apply(VoteCmd(txn, "z", true));
  EXPECT_EQ(stranger.response.error().code(), pb::PERMISSION_DENIED);
  EXPECT_NE(stranger.response.error().message().find("not a participant"), std::string::npos);
  EXPECT_EQ(d.Apply(AckCmd(txn, "z")).response.error().code(), pb::PERMISSION_DENIED);
  EXPECT_EQ(d.Apply(VoteCmd(42, "a", true)).response.error().code(), pb::NOT_FOUND);
  EXPECT_EQ(d.Apply(VoteCmd(0, "a", true)).response.error().code(), pb::INVALID_ARGUMENT);
  Command none = VoteCmd(txn, "a", true);
  none.mutable_tpc_vote()->set_vote(pb::TPC_VOTE_NONE);
  EXPECT_EQ(d.Apply(none).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(VoteCmd(txn, "", true)).response.error().code(), pb::INVALID_ARGUMENT);
  // Ack before the decision.
  ApplyResult early = d.Apply(AckCmd(txn, "a"));
  EXPECT_EQ(early.response.error().code(), pb::CONFLICT);
  EXPECT_NE(early.response.error().message().find("not decided"), std::string::npos);
  pb::Response get = TpcGetOf(d, txn);
  for (const pb::TpcParticipant& p : get.tpc_get().txn().participants()) {
    EXPECT_EQ(p.vote(), pb::TPC_VOTE_NONE);
    EXPECT_FALSE(p.acked());
  }
  EXPECT_EQ(TpcGetOf(d, 0).error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(TpcGetOf(d, 7).error().code(), pb::NOT_FOUND);
}

TEST(TpcTest, BeginValidation) {
  StateMachineOptions options;
  options.max_tpc_participants = 3;
  options.max_value_bytes = 8;
  Driver d(options);
  EXPECT_EQ(d.Apply(BeginCmd({})).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(BeginCmd({"a", "a"})).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(BeginCmd({"a", ""})).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(BeginCmd({"a"}, "p", -1)).response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(d.Apply(BeginCmd({"a", "b", "c", "d"})).response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.Apply(BeginCmd({"a"}, "123456789")).response.error().code(), pb::TOO_LARGE);
  EXPECT_EQ(d.sm.revision(), 0) << "a refused begin writes nothing";
  EXPECT_TRUE(TpcListed(d, "").empty());
  // Timeouts: 0 is the default, others are clamped.
  EXPECT_EQ(d.Apply(BeginCmd({"a"}, "p", 0)).response.tpc_begin().timeout_ms(),
            options.default_tpc_timeout_ms);
  EXPECT_EQ(d.Apply(BeginCmd({"a"}, "p", 1)).response.tpc_begin().timeout_ms(),
            options.min_tpc_timeout_ms);
  EXPECT_EQ(d.Apply(BeginCmd({"a"}, "p", int64_t{1} << 40)).response.tpc_begin().timeout_ms(),
            options.max_tpc_timeout_ms);
  EXPECT_EQ(TpcListed(d, ""), (std::vector<uint64_t>{1, 2, 3})) << "ids count begins only";
}

TEST(TpcTest, ForgottenAfterAllAcks) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  d.Apply(VoteCmd(txn, "a", true));
  d.Apply(VoteCmd(txn, "b", true));
  ApplyResult ack_a = d.Apply(AckCmd(txn, "a"));
  ASSERT_EQ(ack_a.response.error().code(), pb::OK);
  EXPECT_FALSE(ack_a.response.tpc_ack().forgotten());
  EXPECT_EQ(d.Apply(AckCmd(txn, "a")).response.error().code(), pb::OK) << "a repeated ack is fine";
  EXPECT_TRUE(TpcGetOf(d, txn).tpc_get().txn().participants(0).acked());
  ApplyResult ack_b = d.Apply(AckCmd(txn, "b"));
  EXPECT_TRUE(ack_b.response.tpc_ack().forgotten());
  EXPECT_EQ(ack_b.tpc_forgotten, std::vector<uint64_t>{txn});
  ASSERT_EQ(ack_b.events.size(), 1u);
  EXPECT_EQ(ack_b.events[0].event.type(), pb::Event::DELETE);
  EXPECT_EQ(ack_b.events[0].event.kv().key(), MirrorKey(txn));
  EXPECT_EQ(TpcGetOf(d, txn).error().code(), pb::NOT_FOUND);
  EXPECT_EQ(d.Apply(VoteCmd(txn, "a", true)).response.error().code(), pb::NOT_FOUND);
  EXPECT_EQ(d.Apply(AckCmd(txn, "b")).response.error().code(), pb::NOT_FOUND);
  EXPECT_TRUE(d.sm.PendingTxnDeadlines().empty());
  // Ids are never reused.
  EXPECT_EQ(Begin(d, {"a"}), txn + 1);
}

TEST(TpcTest, ForgottenAfterRetentionOnlyOnceDecided) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  ApplyResult early = d.Apply(TpcForgetCmd(txn));
  EXPECT_TRUE(early.tpc_forgotten.empty()) << "a PREPARING txn is never forgotten";
  EXPECT_EQ(TpcGetOf(d, txn).error().code(), pb::OK);
  d.Apply(VoteCmd(txn, "a", false));
  d.Apply(AckCmd(txn, "a"));  // b never acknowledges
  ApplyResult forget = d.Apply(TpcForgetCmd(txn));
  EXPECT_EQ(forget.tpc_forgotten, std::vector<uint64_t>{txn});
  EXPECT_EQ(TpcGetOf(d, txn).error().code(), pb::NOT_FOUND);
  EXPECT_EQ(d.Value(MirrorKey(txn)), "<none>");
  EXPECT_TRUE(d.Apply(TpcForgetCmd(txn)).tpc_forgotten.empty()) << "a stale forget is a no-op";
}

TEST(TpcTest, ListShowsWhatAParticipantStillOwes) {
  Driver d;
  const uint64_t t1 = Begin(d, {"a", "b"});
  const uint64_t t2 = Begin(d, {"a", "c"});
  const uint64_t t3 = Begin(d, {"b"});
  EXPECT_EQ(TpcListed(d, "a"), (std::vector<uint64_t>{t1, t2}));
  EXPECT_EQ(TpcListed(d, "b"), (std::vector<uint64_t>{t1, t3}));
  // A YES voter waits for the decision: still in doubt.
  d.Apply(VoteCmd(t1, "a", true));
  EXPECT_EQ(TpcListed(d, "a"), (std::vector<uint64_t>{t1, t2}));
  // t2 decided by c: a must still learn and acknowledge it.
  d.Apply(VoteCmd(t2, "c", false));
  EXPECT_EQ(TpcListed(d, "a"), (std::vector<uint64_t>{t1, t2}));
  d.Apply(AckCmd(t2, "a"));
  EXPECT_EQ(TpcListed(d, "a"), std::vector<uint64_t>{t1});
  EXPECT_EQ(TpcListed(d, "c"), std::vector<uint64_t>{t2}) << "c has not acknowledged";
  EXPECT_TRUE(TpcListed(d, "nobody").empty());
  EXPECT_EQ(TpcListed(d, ""), (std::vector<uint64_t>{t1, t2, t3}));
  pb::TpcListRequest limited;
  limited.set_limit(2);
  pb::Response r = d.sm.TpcList(limited);
  EXPECT_EQ(r.tpc_list().txns_size(), 2);
  EXPECT_TRUE(r.tpc_list().more());
  limited.set_limit(-1);
  EXPECT_EQ(d.sm.TpcList(limited).error().code(), pb::INVALID_ARGUMENT);
}

TEST(TpcTest, PendingDeadlinesForANewLeader) {
  StateMachineOptions options;
  options.tpc_retention_ms = 60'000;
  Driver d(options);
  const uint64_t t1 = Begin(d, {"a"});
  ApplyResult b2 = d.Apply(BeginCmd({"a", "b"}, "x", 2500));
  const uint64_t t2 = b2.response.tpc_begin().txn_id();
  d.Apply(VoteCmd(t1, "a", true));
  std::vector<TpcTimer> timers = d.sm.PendingTxnDeadlines();
  ASSERT_EQ(timers.size(), 2u);
  EXPECT_EQ(timers[0].txn_id, t1);
  EXPECT_EQ(timers[0].kind, TpcTimerKind::kForget);
  EXPECT_EQ(timers[0].after_ms, 60'000);
  EXPECT_EQ(timers[1].txn_id, t2);
  EXPECT_EQ(timers[1].kind, TpcTimerKind::kTimeout);
  EXPECT_EQ(timers[1].after_ms, 2500);
}

TEST(TpcTest, RetriedBeginIsAppliedOnce) {
  Driver d;
  ApplyResult first = d.Apply(WithClient(BeginCmd({"a"}), 7, 1));
  ApplyResult retry = d.Apply(WithClient(BeginCmd({"a"}), 7, 1));
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.response.tpc_begin().txn_id(), first.response.tpc_begin().txn_id());
  EXPECT_TRUE(retry.tpc_prepares.empty());
  EXPECT_EQ(TpcListed(d, ""), std::vector<uint64_t>{first.response.tpc_begin().txn_id()});
}

TEST(TpcTest, SnapshotRoundTripMidTransaction) {
  Driver a;
  const uint64_t t1 = Begin(a, {"a", "b", "c"});
  const uint64_t t2 = Begin(a, {"a"});
  a.Apply(VoteCmd(t1, "a", true));
  a.Apply(VoteCmd(t2, "a", false));
  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  b.index = a.index;
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
  EXPECT_EQ(TpcGetOf(b, t1).SerializeAsString(), TpcGetOf(a, t1).SerializeAsString());
  EXPECT_EQ(b.sm.PendingTxnDeadlines().size(), 2u);
  for (const Command& c :
       {VoteCmd(t1, "b", true), VoteCmd(t1, "c", true), AckCmd(t2, "a"), BeginCmd({"z"})}) {
    ApplyResult ra = a.Apply(c);
    ApplyResult rb = b.Apply(c);
    ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString());
    ASSERT_EQ(ra.tpc_decisions.size(), rb.tpc_decisions.size());
  }
  EXPECT_EQ(TpcGetOf(b, t1).tpc_get().txn().state(), pb::TPC_COMMITTED);
  EXPECT_EQ(TpcGetOf(b, t2).error().code(), pb::NOT_FOUND);
  EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot());
}

TEST(TpcTest, RestoreRejectsInconsistentTransactions) {
  Driver d;
  const uint64_t txn = Begin(d, {"a", "b"});
  d.Apply(VoteCmd(txn, "a", true));
  coord::state::StateSnapshot snapshot;
  ASSERT_TRUE(snapshot.ParseFromString(d.sm.Snapshot()));
  ASSERT_EQ(snapshot.tpc_txns_size(), 1);
  // PREPARING with every vote YES cannot happen: it would have committed.
  coord::state::StateSnapshot bad = snapshot;
  bad.mutable_tpc_txns(0)->mutable_participants(1)->set_vote(pb::TPC_VOTE_YES);
  Driver other;
  Status s = other.sm.Restore(bad.SerializeAsString());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  bad = snapshot;
  bad.set_last_txn_id(0);  // an id above the counter would be reused
  EXPECT_EQ(other.sm.Restore(bad.SerializeAsString()).code(), StatusCode::kCorruption);
  EXPECT_TRUE(other.sm.Restore(snapshot.SerializeAsString()).ok());
}

}  // namespace
}  // namespace coord::server::testing
