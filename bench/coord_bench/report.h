// Results of one run: the operation records every client kept, the window
// filter, the latency summary, and the one-line JSON report.
//
// Pure functions over plain data (no clocks, no I/O), so they are unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coord::bench {

// One completed (or failed) operation. Times are nanoseconds since the run's epoch.
struct OpRecord {
  int64_t start_ns = 0;
  int64_t finish_ns = 0;
  bool ok = false;
};

// Latency percentiles in milliseconds (nearest-rank), over successful operations.
struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Latencies are whole microseconds (the resolution the report keeps). Sorts in place.
LatencySummary Summarize(std::vector<int64_t>& latencies_us);

struct RunReport {
  std::string workload;
  int clients = 0;
  int64_t ops = 0;
  double secs = 0;
  LatencySummary latency;
  int64_t errors = 0;
  std::optional<double> unavailable_ms;  // failover only; -1 when no write succeeded
};

// Counts the operations that start at or after `begin_ns` and finish at or before
// `end_ns`: successes go into ops and the latency summary, failures into errors.
RunReport BuildReport(std::string workload, int clients, const std::vector<OpRecord>& records,
                      int64_t begin_ns, int64_t end_ns);

// Milliseconds from `kill_ns` to the finish of the first successful operation that
// started at or after it; -1 if there is none.
double UnavailableMs(const std::vector<OpRecord>& records, int64_t kill_ns);

// The one-line JSON report (no trailing newline), fields in the documented order.
std::string FormatJson(const RunReport& report);

}  // namespace coord::bench
