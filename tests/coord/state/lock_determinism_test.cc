// Locks and elections in a randomized, seeded log: replicas fed the same log give
// byte-identical snapshots and results, a restored replica continues identically,
// and the lock invariants (mutual exclusion, increasing tokens, a queue only
// behind holders) hold after every command.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "coord/state/lock_test_util.h"

namespace coord::server::testing {
namespace {

std::vector<Command> RandomLockLog(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  auto lock = [&] { return "/lock/" + std::to_string(pick(3)); };
  auto election = [&] { return "/elect/" + std::to_string(pick(2)); };
  std::vector<Command> log;
  int64_t sessions = 0;
  // Mostly recent sessions (likely alive), sometimes any id ever issued.
  auto session = [&] {
    if (sessions > 6 && pick(4) != 0) return sessions - pick(6);
    return static_cast<int64_t>(1 + pick(static_cast<int>(std::max<int64_t>(1, sessions))));
  };
  // The generator keeps its own replica to aim resigns and timeouts at real
  // leaders and waits (deterministic, like everything else here).
  Driver scratch;
  uint64_t seq = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t index = static_cast<uint64_t>(i) + 1;  // the Driver's next index
    Command c;
    switch (pick(16)) {
      case 0:
      case 1:
        c = SessionCreateCmd(1000);
        ++sessions;
        break;
      case 2:
        c = pick(2) ? ExpireCmd(session()) : CloseCmd(session());
        break;
      case 3:
      case 4:
      case 5:
        c = AcquireCmd(lock(), session(), pick(4) != 0, pick(3) == 0, 0);
        if (c.lock_acquire().wait() && pick(2) == 0) {
          c.mutable_lock_acquire()->set_wait_timeout_ms(100 + pick(900));
        }
        break;
      case 6:
      case 7:
        c = ReleaseCmd(lock(), session());
        break;
      case 8:
        c = RevokeCmd(lock());
        break;
      case 9:
        // Usually a wait that is queued now, sometimes a stale or made-up one.
        if (std::vector<LockWaitState> w = scratch.sm.LockWaits(); !w.empty() && pick(4) != 0) {
          const LockWaitState& t = w[static_cast<size_t>(pick(static_cast<int>(w.size())))];
          c = WaitTimeoutCmd(t.name, t.session, t.acquire_index);
        } else {
          c = WaitTimeoutCmd(lock(), session(), index > 4 ? index - 4 : 1);
        }
        break;
      case 10:
      case 14:
      case 15:
        c = CampaignCmd(election(), session(), "v" + std::to_string(i));
        break;
      case 11: {
        const std::string e = election();
        // Usually the current leader (as the scratch replica knows it), or anybody.
        if (pb::Response l = LeaderOf(scratch, e); l.error().code() == pb::OK && pick(4) != 0) {
          c = ResignCmd(e, l.election_leader().leader().session());
        } else {
          c = ResignCmd(e, session());
        }
        break;
      }
      case 12:
        c = ProclaimCmd(election(), session(), "p" + std::to_string(i));
        break;
      case 13: {
        pb::Compare* cmp = c.mutable_txn()->add_compare();
        cmp->set_key(lock());
        cmp->set_target(pb::Compare::LOCK_TOKEN);
        cmp->set_op(pb::Compare::EQUAL);
        cmp->set_number(pick(10));
        pb::PutRequest* put = c.mutable_txn()->add_success()->mutable_put();
        put->set_key("/data");
        put->set_value(std::to_string(i));
        break;
      }
    }
    // Session creates stay outside dedup: a retried create would not make the
    // session the generator counts on.
    if (!c.has_session_create() && pick(4) == 0) {
      if (seq == 0 || pick(3) != 0) ++seq;  // sometimes a retry
      c = WithClient(c, 9, seq);
    }
    scratch.Apply(c);
    log.push_back(std::move(c));
  }
  return log;
}

// Checks the invariants of every lock against the highest token seen so far.
void CheckLocks(const Driver& d, const ApplyResult& r, std::map<std::string, int64_t>* tokens) {
  auto grant = [&](const std::string& name, int64_t token) {
    int64_t& last = (*tokens)[name];
    EXPECT_GT(token, last) << name << ": a grant must take a new, larger token";
    last = token;
  };
  if (r.response.has_lock_acquire() && r.response.lock_acquire().granted() &&
      r.response.lock_acquire().acquire_index() == d.index && !r.duplicate) {
    const pb::Response list = d.sm.LockList({});
    for (const pb::LockInfo& info : list.lock_list().locks()) {
      for (const pb::LockHolder& h : info.holders()) {
        if (h.acquire_index() == d.index) grant(info.name(), h.token());
      }
    }
  }
  for (const LockGrant& g : r.lock_grants) grant(g.name, g.token);
  const pb::Response list = d.sm.LockList({});
  for (const pb::LockInfo& info : list.lock_list().locks()) {
    if (!info.shared()) {
      EXPECT_LE(info.holders_size(), 1) << info.name();
    }
    EXPECT_GT(info.holders_size(), 0) << "listed locks are held";
    EXPECT_LE(info.last_token(), (*tokens)[info.name()]);
  }
}

TEST(LockDeterminismTest, SameLogGivesIdenticalStateAndInvariantsHold) {
  for (uint64_t seed : {11u, 12u, 13u, 14u}) {
    std::vector<Command> log = RandomLockLog(seed, 800);
    Driver a;
    Driver b;
    std::map<std::string, int64_t> tokens;
    size_t grants = 0, changes = 0, timeouts = 0;
    for (const Command& c : log) {
      ApplyResult ra = a.Apply(c);
      ApplyResult rb = b.Apply(c);
      ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString());
      ASSERT_EQ(Granted(ra), Granted(rb));
      ASSERT_EQ(ra.election_changes.size(), rb.election_changes.size());
      CheckLocks(a, ra, &tokens);
      grants += ra.lock_grants.size();
      changes += ra.election_changes.size();
      for (const LockWaitEnded& e : ra.lock_waits_ended) {
        timeouts += e.reason == LockWaitEndReason::kTimedOut ? 1 : 0;
      }
    }
    EXPECT_GT(grants, 10u) << "the log should hand locks over";
    EXPECT_GT(changes, 10u) << "the log should change leaders";
    EXPECT_GT(timeouts, 0u) << "the log should time some waits out";
    EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot()) << "seed " << seed;
  }
}

TEST(LockDeterminismTest, RestoredReplicaContinuesIdentically) {
  std::vector<Command> log = RandomLockLog(99, 700);
  Driver a;
  for (size_t i = 0; i < 400; ++i) a.Apply(log[i]);
  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  b.index = a.index;
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
  EXPECT_EQ(b.sm.LockList({}).SerializeAsString(), a.sm.LockList({}).SerializeAsString());
  ASSERT_EQ(b.sm.LockWaits().size(), a.sm.LockWaits().size());
  for (size_t i = 400; i < log.size(); ++i) {
    ApplyResult ra = a.Apply(log[i]);
    ApplyResult rb = b.Apply(log[i]);
    ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString()) << i;
    ASSERT_EQ(Granted(ra), Granted(rb)) << i;
  }
  EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot());
}

}  // namespace
}  // namespace coord::server::testing
