// 2PC and topic commands in a randomized, seeded log: replicas fed the same log give
// byte-identical results and snapshots, a restored replica continues identically,
// every transaction is decided at most once, and topic offsets only increase.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "coord/state/tpc_test_util.h"

namespace coord::server::testing {
namespace {

std::vector<Command> RandomTpcLog(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  auto name = [&] { return "p" + std::to_string(pick(4)); };
  auto topic = [&] { return "/t" + std::to_string(pick(2)) + "/"; };
  uint64_t begun = 0;
  // Mostly transactions that exist, sometimes one that does not (yet).
  auto txn = [&] { return static_cast<uint64_t>(1 + pick(static_cast<int>(begun + 2))); };
  std::vector<Command> log;
  uint64_t seq = 0;
  for (int i = 0; i < n; ++i) {
    Command c;
    switch (pick(12)) {
      case 0:
      case 1: {
        std::vector<std::string> participants;
        const int count = 1 + pick(3);
        for (int k = 0; k < count; ++k) participants.push_back(name());
        c = BeginCmd(participants, "payload" + std::to_string(i), 1000 + pick(5000));
        ++begun;  // counts refused begins (repeated names) too: ids are then sparser
        break;
      }
      case 2:
      case 3:
      case 4:
        c = VoteCmd(txn(), name(), pick(5) != 0);
        break;
      case 5:
      case 6:
        c = AckCmd(txn(), name());
        break;
      case 7:
        c = TpcTimeoutCmd(txn());
        break;
      case 8:
        c = TpcForgetCmd(txn());
        break;
      case 9: {
        pb::Compare* cmp = c.mutable_txn()->add_compare();
        cmp->set_key("/state");
        cmp->set_target(pb::Compare::VERSION);
        cmp->set_op(pb::Compare::LESS);
        cmp->set_number(pick(40));
        *c.mutable_txn()->add_success() = PutOp("/state", std::to_string(i));
        *c.mutable_txn()->add_success() = AppendOp(topic(), "e" + std::to_string(i));
        if (pick(3) == 0) *c.mutable_txn()->add_success() = AppendOp(topic(), "f");
        break;
      }
      case 10:
        c = CommitOffsetCmd(topic(), "c" + std::to_string(pick(2)), pick(4), pick(6));
        break;
      case 11:
        c = DeleteCmd(topic(), /*prefix=*/true);
        break;
    }
    if (pick(4) == 0) {
      if (seq == 0 || pick(3) != 0) ++seq;  // sometimes a retry
      c = WithClient(c, 5, seq);
    }
    log.push_back(std::move(c));
  }
  return log;
}

TEST(TpcDeterminismTest, SameLogGivesIdenticalStateAndInvariantsHold) {
  for (uint64_t seed : {21u, 22u, 23u}) {
    std::vector<Command> log = RandomTpcLog(seed, 900);
    Driver a;
    Driver b;
    std::set<uint64_t> decided;
    std::map<std::string, int64_t> last_offset;
    size_t decisions = 0, forgotten = 0, appends = 0;
    for (const Command& c : log) {
      ApplyResult ra = a.Apply(c);
      ApplyResult rb = b.Apply(c);
      ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString());
      ASSERT_EQ(ra.tpc_decisions.size(), rb.tpc_decisions.size());
      ASSERT_EQ(ra.tpc_forgotten, rb.tpc_forgotten);
      for (const TpcDecision& dec : ra.tpc_decisions) {
        EXPECT_TRUE(decided.insert(dec.txn_id).second) << "txn decided twice: " << dec.txn_id;
      }
      decisions += ra.tpc_decisions.size();
      forgotten += ra.tpc_forgotten.size();
      if (ra.response.has_txn() && !ra.duplicate) {
        for (int k = 0; k < c.txn().success_size() && ra.response.txn().succeeded(); ++k) {
          if (!c.txn().success(k).has_append()) continue;
          const std::string& t = c.txn().success(k).append().topic();
          const int64_t offset = ra.response.txn().results(k).append().offset();
          EXPECT_GT(offset, last_offset[t]) << "offsets increase, never reused";
          last_offset[t] = offset;
          ++appends;
        }
      }
    }
    EXPECT_GT(decisions, 10u) << "the log should decide transactions";
    EXPECT_GT(forgotten, 0u) << "the log should forget some";
    EXPECT_GT(appends, 10u) << "the log should append";
    EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot()) << "seed " << seed;
  }
}

TEST(TpcDeterminismTest, RestoredReplicaContinuesIdentically) {
  std::vector<Command> log = RandomTpcLog(77, 700);
  Driver a;
  for (size_t i = 0; i < 350; ++i) a.Apply(log[i]);
  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  b.index = a.index;
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
  ASSERT_EQ(b.sm.PendingTxnDeadlines().size(), a.sm.PendingTxnDeadlines().size());
  for (size_t i = 350; i < log.size(); ++i) {
    ApplyResult ra = a.Apply(log[i]);
    ApplyResult rb = b.Apply(log[i]);
    ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString()) << i;
    ASSERT_EQ(ra.tpc_forgotten, rb.tpc_forgotten) << i;
  }
  EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot());
}

}  // namespace
}  // namespace coord::server::testing
