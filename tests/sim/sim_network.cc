#include "sim_network.h"

namespace coord::raft::sim {

uint64_t SimNetwork::Delay() {
  if (faults_.long_delay > 0 && rng_->Chance(faults_.long_delay)) {
    return rng_->Range(faults_.min_long_delay, faults_.max_long_delay);
  }
  return rng_->Range(0, faults_.max_delay);
}

void SimNetwork::Push(InFlight item) {
  heap_.push_back(std::move(item));
  std::push_heap(heap_.begin(), heap_.end(), Later());
}

void SimNetwork::Send(pb::Message msg, uint64_t now) {
  ++sent_;
  // Draw every random number unconditionally so the RNG stream does not depend
  // on fault settings of earlier messages more than necessary.
  const bool drop = faults_.drop > 0 && rng_->Chance(faults_.drop);
  const bool dup = faults_.duplicate > 0 && rng_->Chance(faults_.duplicate);
  if (drop) {
    ++dropped_;
    return;
  }
  if (dup) Push(InFlight{now + Delay(), seq_++, msg});
  Push(InFlight{now + Delay(), seq_++, std::move(msg)});
}

std::optional<pb::Message> SimNetwork::PopDue(uint64_t now) {
  while (HasDue(now)) {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    InFlight item = std::move(heap_.back());
    heap_.pop_back();
    if (IsCut(item.msg.from(), item.msg.to())) {
      ++dropped_;
      continue;
    }
    return std::move(item.msg);
  }
  return std::nullopt;
}

void SimNetwork::Partition(const std::vector<NodeId>& side, const std::vector<NodeId>& others) {
  for (NodeId a : side) {
    for (NodeId b : others) {
      if (a != b) CutBoth(a, b);
    }
  }
}

}  // namespace coord::raft::sim
