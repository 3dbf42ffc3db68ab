#include "checker/lock_history.h"

#include <algorithm>
#include <map>

namespace coord::robustness {

namespace {

std::string Name(const LockHold& h) {
  return "grant " + std::to_string(h.token) + " (client " + std::to_string(h.client) + ")";
}

}  // namespace

std::string LockCheckResult::Describe() const {
  std::string out = ok ? "ok" : std::to_string(violations.size()) + " violations";
  out += ", " + std::to_string(fenced_overlaps) + " fenced overlaps";
  for (size_t i = 0; i < violations.size() && i < 5; ++i) out += "; " + violations[i];
  return out;
}

LockCheckResult CheckLockHistory(const std::vector<LockHold>& holds) {
  LockCheckResult result;
  auto fail = [&](std::string what) {
    result.ok = false;
    result.violations.push_back(std::move(what));
  };
  std::map<int64_t, const LockHold*> by_token;
  for (const LockHold& h : holds) {
    auto [it, fresh] = by_token.emplace(h.token, &h);
    if (!fresh) {
      fail("duplicate token " + std::to_string(h.token) + ": clients " +
           std::to_string(it->second->client) + " and " + std::to_string(h.client));
    }
  }
  // In token order, a grant must not have been acquired entirely before a
  // lower-token grant's acquire was called, and each hold must have ended
  // before the next grant began unless it was superseded.
  std::vector<const LockHold*> order;
  for (const auto& [token, h] : by_token) order.push_back(h);
  for (size_t i = 0; i < order.size(); ++i) {
    const LockHold& earlier = *order[i];
    for (size_t j = i + 1; j < order.size(); ++j) {
      const LockHold& later = *order[j];
      if (later.acquired < earlier.acquire_called) {
        fail("token order: " + Name(later) + " was granted before " + Name(earlier) +
             " was asked for, yet has the higher token");
      }
      if (later.acquired < earlier.released && earlier.acquired < later.released) {
        if (earlier.release_acknowledged) {
          fail("overlapping holders: " + Name(later) + " was granted before " + Name(earlier) +
               " released, and that release was acknowledged");
        } else {
          ++result.fenced_overlaps;
        }
      }
    }
  }
  return result;
}

}  // namespace coord::robustness
