// The clock the robustness workloads stamp their histories with: monotonic and
// shared by every client thread of one test process, as the checkers require.
#pragma once

#include <chrono>
#include <cstdint>

namespace coord::robustness {

inline int64_t HistoryNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace coord::robustness
