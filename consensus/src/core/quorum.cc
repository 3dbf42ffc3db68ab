#include "core/quorum.h"

#include <algorithm>
#include <functional>

namespace coord::raft {

uint64_t QuorumValue(std::vector<uint64_t>& values) {
  if (values.empty()) return 0;
  // Sorted descending, the majority-th value is held by a majority (it and every
  // value before it). nth_element keeps this O(n) for any cluster size.
  size_t k = MajorityOf(values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end(),
                   std::greater<uint64_t>());
  return values[k];
}

VoteResult TallyVotes(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& votes) {
  if (voters.empty()) return VoteResult::kLost;
  size_t granted = 0;
  size_t rejected = 0;
  for (NodeId v : voters) {
    auto it = votes.find(v);
    if (it == votes.end()) continue;
    if (it->second) {
      ++granted;
    } else {
      ++rejected;
    }
  }
  size_t q = MajorityOf(voters.size());
  if (granted >= q) return VoteResult::kWon;
  if (voters.size() - rejected < q) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace coord::raft
