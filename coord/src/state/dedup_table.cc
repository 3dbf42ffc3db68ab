#include "state/dedup_table.h"

#include <string>
#include <utility>

#include "state/check.h"

namespace coord::server {

std::string LaneName(const LaneId& lane) {
  std::string name = std::to_string(lane.client_id);
  if (lane.incarnation != 0) name += "/" + std::to_string(lane.incarnation);
  return name;
}

bool DedupTable::HasIncarnations() const {
  for (const auto& [lane, entry] : entries_) {
    if (lane.incarnation != 0) return true;
  }
  return false;
}

const DedupTable::Entry* DedupTable::Find(const LaneId& lane) const {
  auto it = entries_.find(lane);
  return it == entries_.end() ? nullptr : &it->second;
}

void DedupTable::Touch(const LaneId& lane, uint64_t raft_index) {
  auto it = entries_.find(lane);
  COORD_STATE_CHECK(it != entries_.end() && it->second.last_index < raft_index);
  by_last_index_.erase(it->second.last_index);
  it->second.last_index = raft_index;
  by_last_index_.emplace(raft_index, lane);
}

void DedupTable::Erase(std::map<LaneId, Entry>::iterator it) {
  by_last_index_.erase(it->second.last_index);
  entries_.erase(it);
}

void DedupTable::Record(const LaneId& lane, uint64_t sequence, uint64_t raft_index,
                        coord::v1::Response response) {
  auto it = entries_.find(lane);
  if (it == entries_.end()) {
    // Evict before inserting so the table never exceeds its capacity.
    while (capacity_ > 0 && entries_.size() >= capacity_) {
      Erase(entries_.find(by_last_index_.begin()->second));
    }
    if (capacity_ == 0) return;
    it = entries_.emplace(lane, Entry{}).first;
  } else {
    COORD_STATE_CHECK(it->second.last_index < raft_index);
    by_last_index_.erase(it->second.last_index);
  }
  it->second.sequence = sequence;
  it->second.last_index = raft_index;
  it->second.response = std::move(response);
  by_last_index_.emplace(raft_index, lane);
}

void DedupTable::ToSnapshot(coord::state::StateSnapshot* out) const {
  for (const auto& [lane, e] : entries_) {
    coord::state::DedupRecord* r = out->add_dedup();
    r->set_client_id(lane.client_id);
    if (lane.incarnation != 0) r->set_client_incarnation(lane.incarnation);
    r->set_sequence(e.sequence);
    r->set_last_index(e.last_index);
    *r->mutable_response() = e.response;
  }
}

Result<DedupTable> DedupTable::FromSnapshot(const coord::state::StateSnapshot& snapshot,
                                            size_t capacity) {
  DedupTable table(capacity);
  LaneId prev;
  for (const coord::state::DedupRecord& r : snapshot.dedup()) {
    const LaneId lane{r.client_id(), r.client_incarnation()};
    if (lane.client_id == 0 || (!table.entries_.empty() && lane <= prev) || r.sequence() == 0 ||
        r.last_index() == 0 || r.last_index() > snapshot.last_applied_index() ||
        !table.by_last_index_.emplace(r.last_index(), lane).second) {
      return Status::Corruption("state snapshot: bad dedup record for client " + LaneName(lane));
    }
    prev = lane;
    table.entries_.emplace(lane, Entry{r.sequence(), r.last_index(), r.response()});
  }
  // A snapshot from a member with a larger table: shrink deterministically.
  while (table.entries_.size() > capacity) {
    table.Erase(table.entries_.find(table.by_last_index_.begin()->second));
  }
  return table;
}

}  // namespace coord::server
