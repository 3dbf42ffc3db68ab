// raft-sim: runs the deterministic Raft simulation over many seeds, or replays one.
//
//   raft-sim --seeds N [--start S] [--members 3|5] [--steps M] [--skip S1,S2,...]
//       runs seeds S .. S+N-1 and prints one summary line (and one line per failing
//       seed with its replay command). Exit status 1 if any seed failed.
//   raft-sim --seed S [--members 3|5] [--steps M] [--verbose]
//       runs one seed; --verbose prints the trace of every event.
// Test-only faults that a correct checker must catch (not for soaks):
//   --test-lose-hard-state, --test-unsynced-saves PERCENT
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>
#include <string>

#include "sim_workload.h"

namespace {

using coord::raft::sim::ReplayCommand;
using coord::raft::sim::RunOptions;
using coord::raft::sim::RunResult;
using coord::raft::sim::RunSeed;

int Usage(const char* why) {
  std::cerr << "raft-sim: " << why << "\n"
            << "usage: raft-sim --seeds N [--start S] [--members 3|5] [--steps M] "
               "[--skip S1,S2,...]\n"
            << "       raft-sim --seed S [--members 3|5] [--steps M] [--verbose]\n";
  return 2;
}

bool ParseU64(const char* s, uint64_t* out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-') return false;
  *out = v;
  return true;
}

bool ParseList(const std::string& s, std::set<uint64_t>* out) {
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    uint64_t v;
    if (!ParseU64(s.substr(pos, comma - pos).c_str(), &v)) return false;
    out->insert(v);
    pos = comma + 1;
  }
  return true;
}

void PrintStats(const RunResult& r) {
  std::cout << "members " << r.members << " steps " << r.steps << " committed " << r.committed
            << " leader-terms " << r.leader_terms << " proposals " << r.stats.proposals
            << " crashes " << r.stats.crashes << " restarts " << r.stats.restarts << " snapshots "
            << r.stats.snapshots_created << "/" << r.stats.snapshots_restored << " reads "
            << r.stats.reads_served << " conf-changes " << r.stats.conf_changes_committed
            << " transfers " << r.stats.transfers << " digest " << std::hex << r.digest << std::dec
            << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 0, start = 0, seed = 0, steps = RunOptions().steps, members = 0;
  bool have_seed = false, have_seeds = false, verbose = false;
  std::set<uint64_t> skip;
  bool lose_hard_state = false;  // test-only faults that must be caught (see sim_cluster.h)
  double unsynced_saves = 0.0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* val = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need = [&](uint64_t* out) {
      if (!ParseU64(val, out)) return false;
      ++i;
      return true;
    };
    if (arg == "--seeds") {
      if (!need(&seeds)) return Usage("--seeds needs a number");
      have_seeds = true;
    } else if (arg == "--start") {
      if (!need(&start)) return Usage("--start needs a number");
    } else if (arg == "--seed") {
      if (!need(&seed)) return Usage("--seed needs a number");
      have_seed = true;
    } else if (arg == "--steps") {
      if (!need(&steps) || steps == 0) return Usage("--steps needs a positive number");
    } else if (arg == "--members") {
      if (!need(&members) || (members != 3 && members != 5)) {
        return Usage("--members must be 3 or 5");
      }
    } else if (arg == "--skip") {
      if (val == nullptr || !ParseList(val, &skip)) return Usage("--skip needs S1,S2,...");
      ++i;
    } else if (arg == "--test-lose-hard-state") {
      lose_hard_state = true;
    } else if (arg == "--test-unsynced-saves") {
      uint64_t percent = 0;
      if (!need(&percent) || percent > 100) return Usage("--test-unsynced-saves needs 0..100");
      unsynced_saves = static_cast<double>(percent) / 100.0;
    } else if (arg == "--verbose" || arg == "-v") {
      verbose = true;
    } else if (arg == "--help" || arg == "-h") {
      Usage("help");
      return 0;
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  if (have_seed == have_seeds) return Usage("give exactly one of --seed or --seeds");

  RunOptions options;
  options.steps = steps;
  options.members = static_cast<int>(members);
  options.TEST_lose_hard_state = lose_hard_state;
  options.TEST_unsynced_saves = unsynced_saves;
  if (have_seed) {
    options.seed = seed;
    options.trace = verbose ? &std::cout : nullptr;
    const RunResult r = RunSeed(options);
    std::cout << "seed " << seed << ": " << (r.ok ? "OK" : "VIOLATION") << "\n";
    PrintStats(r);
    if (!r.ok) {
      std::cout << "violation: " << r.violation << "\n" << r.state;
      return 1;
    }
    return 0;
  }

  const auto t0 = std::chrono::steady_clock::now();
  uint64_t run = 0, failed = 0, skipped = 0, total_steps = 0;
  coord::raft::sim::ClusterStats sum;
  uint64_t committed = 0, leader_terms = 0;
  for (uint64_t s = start; s < start + seeds; ++s) {
    if (skip.count(s) != 0) {
      ++skipped;
      continue;
    }
    options.seed = s;
    const RunResult r = RunSeed(options);
    ++run;
    total_steps += r.steps;
    committed += r.committed;
    leader_terms += r.leader_terms;
    sum.crashes += r.stats.crashes;
    sum.snapshots_restored += r.stats.snapshots_restored;
    sum.conf_changes_committed += r.stats.conf_changes_committed;
    sum.members_joined += r.stats.members_joined;
    sum.members_retired += r.stats.members_retired;
    sum.reads_served += r.stats.reads_served;
    sum.transfers += r.stats.transfers;
    sum.pipelined_readies += r.stats.pipelined_readies;
    if (!r.ok) {
      ++failed;
      std::cout << "FAIL seed " << s << ": " << r.violation.substr(0, r.violation.find('\n'))
                << "\n  replay: " << ReplayCommand(options) << std::endl;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "seeds " << run << " (start " << start << ", skipped " << skipped << ") violations "
            << failed << " seconds " << secs << " seeds/s " << (secs > 0 ? run / secs : 0.0)
            << " steps/s " << (secs > 0 ? total_steps / secs : 0.0) << std::endl;
  if (run > 0) {
    const double n = static_cast<double>(run);
    std::cout << "per seed: steps " << total_steps / n << " committed " << committed / n
              << " leader-terms " << leader_terms / n << " crashes " << sum.crashes / n
              << " snapshot-installs " << sum.snapshots_restored / n << " conf-changes "
              << sum.conf_changes_committed / n << " joined " << sum.members_joined / n
              << " retired " << sum.members_retired / n << " reads " << sum.reads_served / n
              << " transfers " << sum.transfers / n << " pipelined-readies "
              << sum.pipelined_readies / n << std::endl;
  }
  return failed == 0 ? 0 : 1;
}
