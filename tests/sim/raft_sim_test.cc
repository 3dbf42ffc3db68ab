// Randomized simulation over many seeds (COORD_SIM_SEEDS, COORD_SIM_START,
// COORD_SIM_STEPS override the CI defaults; COORD_SIM_SKIP skips known failing
// seeds) and the replay guarantee.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "sim_workload.h"

namespace coord::raft::sim {
namespace {

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v, &end, 10);
  return (end != nullptr && *end == '\0') ? x : fallback;
}

// CI default: sized so this test takes a few minutes single-threaded on the
// 2-core build machine (see SOAK.md for the measured seeds/s).
constexpr uint64_t kDefaultSeeds = 40000;

// COORD_SIM_SKIP="S1,S2,..." skips known failing seeds (recorded in FAILING_SEEDS.md)
// so a run can carry on past a known core bug.
std::set<uint64_t> EnvSkip() {
  std::set<uint64_t> out;
  const char* v = std::getenv("COORD_SIM_SKIP");
  if (v == nullptr) return out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const unsigned long long x = std::strtoull(item.c_str(), &end, 10);
    if (!item.empty() && end != nullptr && *end == '\0') out.insert(x);
  }
  return out;
}

TEST(RaftSimTest, ManySeedsHoldEveryInvariant) {
  const std::set<uint64_t> skip = EnvSkip();
  const uint64_t seeds = EnvU64("COORD_SIM_SEEDS", kDefaultSeeds);
  const uint64_t start = EnvU64("COORD_SIM_START", 1000000);
  RunOptions options;
  options.steps = EnvU64("COORD_SIM_STEPS", options.steps);
  uint64_t failures = 0, committed = 0, leader_terms = 0, snapshots = 0, joined = 0, retired = 0;
  uint64_t reads = 0, transfers = 0;
  for (uint64_t s = start; s < start + seeds; ++s) {
    if (skip.count(s) != 0) continue;
    options.seed = s;
    const RunResult r = RunSeed(options);
    committed += r.committed;
    leader_terms += r.leader_terms;
    snapshots += r.stats.snapshots_restored;
    joined += r.stats.members_joined;
    retired += r.stats.members_retired;
    reads += r.stats.reads_served;
    transfers += r.stats.transfers;
    if (!r.ok) {
      ++failures;
      ADD_FAILURE() << "seed " << s << " violated an invariant: " << r.violation
                    << "\nreplay: " << ReplayCommand(options) << "\nfinal state:\n"
                    << r.state;
      if (failures >= 5) break;  // enough to act on; keep the log readable
    }
  }
  // The runs must actually exercise the protocol, or passing means nothing.
  if (seeds >= 50) {
    EXPECT_GT(committed, seeds * 20) << "too few entries committed per seed";
    EXPECT_GT(leader_terms, seeds) << "too few elections";
    EXPECT_GT(snapshots, seeds / 10) << "InstallSnapshot is rarely exercised";
    EXPECT_GT(joined, seeds / 4) << "learners rarely join";
    EXPECT_GT(retired, seeds / 20) << "removals rarely commit";
    EXPECT_GT(reads, seeds) << "ReadIndex is rarely exercised";
    EXPECT_GT(transfers, seeds / 10) << "leadership transfer is rarely exercised";
  }
}

TEST(RaftSimTest, SameSeedReplaysExactly) {
  for (uint64_t seed : {7u, 12345u, 99u}) {
    RunOptions options;
    options.seed = seed;
    const RunResult a = RunSeed(options);
    const RunResult b = RunSeed(options);
    EXPECT_EQ(a.digest, b.digest) << "seed " << seed;
    EXPECT_EQ(a.steps, b.steps) << "seed " << seed;
    EXPECT_EQ(a.committed, b.committed) << "seed " << seed;
    EXPECT_EQ(a.violation, b.violation) << "seed " << seed;
    EXPECT_EQ(a.state, b.state) << "seed " << seed;
  }
  // Tracing (--verbose) must not change the run it describes.
  RunOptions traced;
  traced.seed = 7;
  std::ostringstream trace;
  traced.trace = &trace;
  RunOptions plain;
  plain.seed = 7;
  EXPECT_EQ(RunSeed(traced).digest, RunSeed(plain).digest);
  EXPECT_NE(trace.str().find("is leader"), std::string::npos);

  RunOptions x, y;
  x.seed = 1;
  y.seed = 2;
  EXPECT_NE(RunSeed(x).digest, RunSeed(y).digest) << "different seeds should differ";
}

// The simulation must have teeth: members whose disk forgets terms and votes
// across crashes eventually break an invariant (two leaders in a term, a changed
// vote, divergent logs...), and some seed must catch it.
TEST(RaftSimTest, DetectsAMemberThatForgetsItsVotes) {
  RunOptions options;
  options.TEST_lose_hard_state = true;
  uint64_t caught = 0;
  std::string example;
  for (uint64_t s = 1; s <= 200; ++s) {
    options.seed = s;
    const RunResult r = RunSeed(options);
    if (!r.ok) {
      ++caught;
      if (example.empty()) example = r.violation;
    }
  }
  EXPECT_GT(caught, 0u);
  std::cout << caught << " of 200 seeds caught the lost hard state, e.g.: " << example << "\n";
}

// Likewise for a driver that saves without fsync and loses the unsynced tail of
// its log (and hard state) in a crash, after acknowledging it.
TEST(RaftSimTest, DetectsLostUnsyncedWrites) {
  RunOptions options;
  options.TEST_unsynced_saves = 0.7;
  uint64_t caught = 0;
  std::string example;
  for (uint64_t s = 1; s <= 300; ++s) {
    options.seed = s;
    const RunResult r = RunSeed(options);
    if (!r.ok) {
      ++caught;
      if (example.empty()) example = r.violation;
    }
  }
  EXPECT_GT(caught, 0u);
  std::cout << caught << " of 300 seeds caught lost unsynced writes, e.g.: " << example << "\n";
}

TEST(RaftSimTest, OptionsForSeedAreValidAndVaried) {
  bool saw3 = false, saw5 = false;
  for (uint64_t s = 0; s < 200; ++s) {
    const ClusterOptions o = OptionsForSeed(s, 0);
    ASSERT_TRUE(o.members == 3 || o.members == 5);
    ASSERT_LT(o.heartbeat_tick, o.election_tick);
    saw3 |= o.members == 3;
    saw5 |= o.members == 5;
  }
  EXPECT_TRUE(saw3 && saw5);
  EXPECT_EQ(OptionsForSeed(4, 5).members, 5);
}

}  // namespace
}  // namespace coord::raft::sim
