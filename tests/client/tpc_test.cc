// 2PC through the client library: a coordinator (Transaction) and participants
// (Participant) on the real ensemble — commit, abort by a NO vote, and recovery
// of an in-doubt transaction by a participant that was destroyed and recreated.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include "coord/client/participant.h"
#include "coord/client/transaction.h"
#include "env.h"

namespace coord::test {
namespace {

// Records what a participant's callbacks saw.
struct Store {
  std::mutex mu;
  std::vector<uint64_t> prepared;
  std::vector<uint64_t> committed;
  std::vector<std::pair<uint64_t, std::string>> aborted;
  bool vote_yes = true;

  Participant::Handlers Handlers() {
    Participant::Handlers h;
    h.prepare = [this](uint64_t id, const std::string&) {
      std::lock_guard lock(mu);
      prepared.push_back(id);
      return vote_yes;
    };
    h.commit = [this](uint64_t id) {
      std::lock_guard lock(mu);
      committed.push_back(id);
    };
    h.abort = [this](uint64_t id, const std::string& reason) {
      std::lock_guard lock(mu);
      aborted.emplace_back(id, reason);
    };
    return h;
  }
  size_t Count(const std::vector<uint64_t>& v, uint64_t id) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count(v.begin(), v.end(), id));
  }
};

TEST(ClientTpc, CommitWhenAllVoteYes) {
  auto c = NewClient();
  const std::string a = Fresh("inventory"), b = Fresh("billing");
  Store sa, sb;
  auto pa = Participant::Start(*c, a, sa.Handlers());
  ASSERT_TRUE(pa.ok()) << pa.status();
  auto pb = Participant::Start(*c, b, sb.Handlers());
  ASSERT_TRUE(pb.ok()) << pb.status();
  auto txn = Transaction::Begin(*c, {a, b}, "order 1", 10s);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ((*txn)->txn_timeout(), 10s);
  auto outcome = (*txn)->Await(15s);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->state, coord::v1::TPC_COMMITTED);
  const uint64_t id = (*txn)->id();
  ASSERT_TRUE(WaitFor(
      [&] { return sa.Count(sa.committed, id) == 1 && sb.Count(sb.committed, id) == 1; }, 10s));
  EXPECT_EQ(sa.Count(sa.prepared, id), 1u);
  // Both acknowledged: the transaction is forgotten.
  EXPECT_TRUE(WaitFor(
      [&] { return Transaction::Get(*c, id).status().code() == StatusCode::kNotFound; }, 10s));
  // Awaiting again still finds the decision in the mirror key's history.
  auto again = Transaction::Attach(*c, id, (*txn)->begin_revision())->Await(5s);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, coord::v1::TPC_COMMITTED);
}

TEST(ClientTpc, AbortOnANoVoteReachesEveryParticipant) {
  auto c = NewClient();
  const std::string a = Fresh("yes-sayer"), b = Fresh("no-sayer");
  Store sa, sb;
  sb.vote_yes = false;
  auto pa = Participant::Start(*c, a, sa.Handlers());
  auto pb = Participant::Start(*c, b, sb.Handlers());
  ASSERT_TRUE(pa.ok() && pb.ok());
  auto txn = Transaction::Begin(*c, {a, b}, "order 2", 10s);
  ASSERT_TRUE(txn.ok()) << txn.status();
  auto outcome = (*txn)->Await(15s);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->state, coord::v1::TPC_ABORTED);
  const uint64_t id = (*txn)->id();
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard la(sa.mu), lb(sb.mu);
        return sa.aborted.size() == 1 && sb.aborted.size() == 1;
      },
      10s));
  std::lock_guard la(sa.mu);
  EXPECT_EQ(sa.aborted[0].first, id);
  EXPECT_NE(sa.aborted[0].second.find(b), std::string::npos) << sa.aborted[0].second;
  EXPECT_TRUE(sa.committed.empty());
  // Bad requests are refused with their codes.
  EXPECT_EQ(Transaction::Begin(*c, {}, "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Participant::Start(*c, "", sa.Handlers()).status().code(),
            StatusCode::kInvalidArgument);
}

// The participant votes YES and then "crashes" (its client and Participant are
// destroyed) before the decision. The transaction commits when the other
// participant votes. A new incarnation recovers the in-doubt transaction from its
// subscription's recovery list: commit runs, and the acknowledgement lets the
// ensemble forget the transaction.
TEST(ClientTpc, RecreatedParticipantRecoversAnInDoubtTransaction) {
  const std::string a = Fresh("restarting"), b = Fresh("late");
  auto coordinator = NewClient();
  Store first;
  uint64_t id = 0;
  std::unique_ptr<Transaction> txn;
  {
    auto ca = NewClient();
    auto pa = Participant::Start(*ca, a, first.Handlers());
    ASSERT_TRUE(pa.ok()) << pa.status();
    auto begun = Transaction::Begin(*coordinator, {a, b}, "order 3", 60s);
    ASSERT_TRUE(begun.ok()) << begun.status();
    txn = std::move(*begun);
    id = txn->id();
    // Wait until a's YES is recorded in the ensemble.
    ASSERT_TRUE(WaitFor(
        [&] {
          auto info = Transaction::Get(*coordinator, id);
          return info.ok() && info->participants(0).vote() == coord::v1::TPC_VOTE_YES;
        },
        10s));
  }  // a crashes: its participant and client are gone
  EXPECT_EQ(first.Count(first.prepared, id), 1u);
  EXPECT_EQ(first.Count(first.committed, id), 0u);

  // b shows up late, recovers the prepare from its list and votes YES: committed.
  Store late;
  auto cb = NewClient();
  auto pb = Participant::Start(*cb, b, late.Handlers());
  ASSERT_TRUE(pb.ok()) << pb.status();
  auto outcome = txn->Await(15s);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->state, coord::v1::TPC_COMMITTED);
  EXPECT_EQ(late.Count(late.prepared, id), 1u);
  // a owes an acknowledgement: the transaction is still remembered.
  auto info = Transaction::Get(*coordinator, id);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->participants(0).acked());

  // a restarts: a new client and participant with the same name.
  Store second;
  auto ca2 = NewClient();
  auto pa2 = Participant::Start(*ca2, a, second.Handlers());
  ASSERT_TRUE(pa2.ok()) << pa2.status();
  ASSERT_TRUE(WaitFor([&] { return second.Count(second.committed, id) == 1; }, 10s));
  EXPECT_EQ(second.Count(second.prepared, id), 0u);  // it had voted: no second prepare
  EXPECT_TRUE(WaitFor(
      [&] { return Transaction::Get(*coordinator, id).status().code() == StatusCode::kNotFound; },
      10s));
}

// A participant reconnecting mid-transaction re-subscribes and still gets the
// decision.
TEST(ClientTpc, ParticipantResubscribesAfterAReconnect) {
  const std::string a = Fresh("reconnecting"), b = Fresh("steady");
  auto ca = NewClient();
  auto cb = NewClient();
  Store sa, sb;
  sb.vote_yes = true;
  auto pa = Participant::Start(*ca, a, sa.Handlers());
  ASSERT_TRUE(pa.ok()) << pa.status();
  ca->TEST_BreakConnection();
  ASSERT_TRUE(WaitFor([&] { return (*pa)->subscriptions() >= 2; }, 10s));
  auto txn = Transaction::Begin(*cb, {a, b}, "order 4", 20s);
  ASSERT_TRUE(txn.ok());
  auto pb = Participant::Start(*cb, b, sb.Handlers());
  ASSERT_TRUE(pb.ok());
  auto outcome = (*txn)->Await(15s);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->state, coord::v1::TPC_COMMITTED);
  EXPECT_TRUE(WaitFor([&] { return sa.Count(sa.committed, (*txn)->id()) == 1; }, 10s));
}

}  // namespace
}  // namespace coord::test
