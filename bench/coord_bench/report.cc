#include "report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace coord::bench {
namespace {

// Nearest-rank percentile: the smallest value with at least q of the samples at or
// below it. `sorted` is non-empty.
int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

double UsToMs(int64_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace

LatencySummary Summarize(std::vector<int64_t>& latencies_us) {
  LatencySummary s;
  if (latencies_us.empty()) return s;
  std::sort(latencies_us.begin(), latencies_us.end());
  s.count = static_cast<int64_t>(latencies_us.size());
  long double total = 0;
  for (int64_t v : latencies_us) total += v;
  s.mean_ms = static_cast<double>(total / latencies_us.size()) / 1000.0;
  s.p50_ms = UsToMs(Percentile(latencies_us, 0.50));
  s.p90_ms = UsToMs(Percentile(latencies_us, 0.90));
  s.p99_ms = UsToMs(Percentile(latencies_us, 0.99));
  s.p999_ms = UsToMs(Percentile(latencies_us, 0.999));
  s.max_ms = UsToMs(latencies_us.back());
  return s;
}

RunReport BuildReport(std::string workload, int clients, const std::vector<OpRecord>& records,
                      int64_t begin_ns, int64_t end_ns) {
  RunReport r;
  r.workload = std::move(workload);
  r.clients = clients;
  r.secs = static_cast<double>(end_ns - begin_ns) / 1e9;
  std::vector<int64_t> latencies_us;
  latencies_us.reserve(records.size());
  for (const OpRecord& op : records) {
    if (op.start_ns < begin_ns || op.finish_ns > end_ns) continue;
    if (op.ok) {
      latencies_us.push_back((op.finish_ns - op.start_ns) / 1000);
    } else {
      ++r.errors;
    }
  }
  r.ops = static_cast<int64_t>(latencies_us.size());
  r.latency = Summarize(latencies_us);
  return r;
}

double UnavailableMs(const std::vector<OpRecord>& records, int64_t kill_ns) {
  std::optional<int64_t> first;
  for (const OpRecord& op : records) {
    if (!op.ok || op.start_ns < kill_ns) continue;
    if (!first || op.finish_ns < *first) first = op.finish_ns;
  }
  if (!first) return -1;
  return static_cast<double>(*first - kill_ns) / 1e6;
}

std::string FormatJson(const RunReport& r) {
  const double ops_per_s = r.secs > 0 ? static_cast<double>(r.ops) / r.secs : 0;
  char buf[512];
  int n = std::snprintf(
      buf, sizeof buf,
      "{\"system\":\"coord\",\"workload\":\"%s\",\"clients\":%d,\"ops\":%" PRId64
      ",\"secs\":%.3f,\"ops_per_s\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%" PRId64,
      r.workload.c_str(), r.clients, r.ops, r.secs, ops_per_s, r.latency.mean_ms, r.latency.p50_ms,
      r.latency.p90_ms, r.latency.p99_ms, r.latency.p999_ms, r.latency.max_ms, r.errors);
  std::string out(buf, static_cast<size_t>(std::max(0, std::min<int>(n, sizeof buf - 1))));
  if (r.unavailable_ms) {
    std::snprintf(buf, sizeof buf, ",\"unavailable_ms\":%.1f", *r.unavailable_ms);
    out += buf;
  }
  out += "}";
  return out;
}

}  // namespace coord::bench
