// Reporting shared by the lock comparison programs (bench/lock_compare/): the
// coord-bench JSON line under another "system" label, with the spread of
// per-client cycle counts appended (FIFO fairness under contention).
//
// Pure functions over plain data, like coord-bench's report.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "report.h"

namespace coord::bench {

// The fewest and the most successful operations of one client in the window.
struct ClientSpread {
  int64_t min_ops = 0;
  int64_t max_ops = 0;
};

// Per-client records (one vector per client). An operation counts for its client
// when it succeeded, started at or after `begin_ns` and finished at or before
// `end_ns` (the window rule of BuildReport).
ClientSpread SpreadOf(const std::vector<std::vector<OpRecord>>& per_client, int64_t begin_ns,
                      int64_t end_ns);

// All records of every client in one vector, for BuildReport.
std::vector<OpRecord> Merge(const std::vector<std::vector<OpRecord>>& per_client);

// FormatJson(report) with "system" set to `system` and
// ,"client_ops_min":N,"client_ops_max":M appended before the closing brace.
std::string FormatCompareJson(const RunReport& report, const std::string& system,
                              const ClientSpread& spread);

}  // namespace coord::bench
