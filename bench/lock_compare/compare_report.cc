#include "compare_report.h"

#include <algorithm>
#include <limits>

namespace coord::bench {

ClientSpread SpreadOf(const std::vector<std::vector<OpRecord>>& per_client, int64_t begin_ns,
                      int64_t end_ns) {
  ClientSpread spread;
  if (per_client.empty()) return spread;
  spread.min_ops = std::numeric_limits<int64_t>::max();
  for (const std::vector<OpRecord>& records : per_client) {
    const int64_t n = std::count_if(records.begin(), records.end(), [&](const OpRecord& op) {
      return op.ok && op.start_ns >= begin_ns && op.finish_ns <= end_ns;
    });
    spread.min_ops = std::min(spread.min_ops, n);
    spread.max_ops = std::max(spread.max_ops, n);
  }
  return spread;
}

std::vector<OpRecord> Merge(const std::vector<std::vector<OpRecord>>& per_client) {
  std::vector<OpRecord> all;
  for (const std::vector<OpRecord>& records : per_client) {
    all.insert(all.end(), records.begin(), records.end());
  }
  return all;
}

std::string FormatCompareJson(const RunReport& report, const std::string& system,
                              const ClientSpread& spread) {
  std::string json = FormatJson(report);
  // FormatJson always starts with the coord label; everything after it is shared.
  static constexpr char kCoordLabel[] = "{\"system\":\"coord\"";
  if (json.rfind(kCoordLabel, 0) == 0) {
    json.replace(0, sizeof kCoordLabel - 1, "{\"system\":\"" + system + "\"");
  }
  json.pop_back();  // the closing brace
  json += ",\"client_ops_min\":" + std::to_string(spread.min_ops) +
          ",\"client_ops_max\":" + std::to_string(spread.max_ops) + "}";
  return json;
}

}  // namespace coord::bench
