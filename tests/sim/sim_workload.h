// The randomized simulation run: one seed -> one cluster, one fault schedule.
//
// RunSeed picks the cluster shape and Raft options from the seed (3 or 5
// members, election/heartbeat ticks, flow-control and chunk sizes, snapshot
// frequency, PreVote/CheckQuorum, pipelined Readies, persistent or volatile
// application, drifting or lockstep clocks, lease reads) and a fault intensity,
// then runs a fault phase of `steps` steps in which, at random, messages are
// delivered (delayed, dropped, duplicated, reordered), members tick, clients
// propose (single entries, small groups, bursts) and read at random members, and
// faults happen: symmetric and one-way partitions, heals, crashes (including right
// after a persist and before the send, and the whole cluster at once), restarts,
// network fault changes, membership changes (add learner, promote, remove) and
// leadership transfers (also to unknown members, which must be refused).
// Invariants are checked after every step (see sim_checker.h and sim_cluster.h).
//
// Then the liveness phase heals everything (all links, zero drop rate, every
// crashed member restarted) and requires a leader within 40 * election_tick
// ticks per member; then a fresh proposal committed, applied on every live voter,
// and all live members' applied indexes equal, with progress (commit or applied
// indexes growing) at least every 40 * election_tick ticks and everything done
// within 10 times that. (Replicating hundreds of accepted entries one per round
// trip, as the smallest flow-control settings do, is legitimately slow.)
//
// The same RunOptions give the same run, bit for bit.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "sim_cluster.h"

namespace coord::raft::sim {

struct RunOptions {
  uint64_t seed = 1;
  int members = 0;                    // 3 or 5; 0 = chosen by the seed
  uint64_t steps = 4000;              // steps of the fault phase
  bool liveness = true;               // run the heal + liveness phase
  std::ostream* trace = nullptr;      // per-event trace (not owned), e.g. for --verbose
  bool TEST_lose_hard_state = false;  // see ClusterOptions
  double TEST_unsynced_saves = 0.0;   // see ClusterOptions
};

struct RunResult {
  bool ok = false;
  std::string violation;  // empty when ok
  int members = 0;
  uint64_t steps = 0;
  uint64_t committed = 0;     // highest index applied anywhere
  uint64_t leader_terms = 0;  // distinct terms that had a leader
  uint64_t digest = 0;        // fingerprint of the whole run (replay check)
  ClusterStats stats;
  std::string state;  // the cluster's final state (for failure reports)
};

RunResult RunSeed(const RunOptions& options);

// The raft-sim command line that replays `options` with a trace.
std::string ReplayCommand(const RunOptions& options);

// Cluster options derived from `seed` (what RunSeed uses).
ClusterOptions OptionsForSeed(uint64_t seed, int members);

// Heals every fault and checks liveness as described above. Records a violation
// in the cluster and returns false when a bound is exceeded.
bool HealAndCheckLiveness(SimCluster& cluster, int election_tick);

}  // namespace coord::raft::sim
