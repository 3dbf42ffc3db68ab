#include "server/forward_table.h"

namespace coord::server {

uint64_t ForwardTable::Add(raft::NodeId leader, Clock::time_point deadline, Done done,
                          bool outlives_leader_change) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  pending_.emplace(id, Pending{deadline, leader, std::move(done), outlives_leader_change});
  return id;
}

std::optional<Done> ForwardTable::Take(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return std::nullopt;
  Done done = std::move(it->second.done);
  pending_.erase(it);
  return done;
}

ForwardTable::Swept ForwardTable::Sweep(Clock::time_point now, raft::NodeId leader) {
  Swept out;
  std::lock_guard lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline <= now) {
      out.expired.push_back(std::move(it->second.done));
    } else if (it->second.leader != leader && !it->second.outlives_leader_change) {
      out.orphaned.push_back(std::move(it->second.done));
    } else {
      ++it;
      continue;
    }
    it = pending_.erase(it);
  }
  return out;
}

size_t ForwardTable::size() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace coord::server
