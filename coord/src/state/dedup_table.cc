#include "state/dedup_table.h"

#include <string>
#include <utility>

#include "state/check.h"

namespace coord::server {

const DedupTable::Entry* DedupTable::Find(uint64_t client_id) const {
  auto it = entries_.find(client_id);
  return it == entries_.end() ? nullptr : &it->second;
}

void DedupTable::Touch(uint64_t client_id, uint64_t raft_index) {
  auto it = entries_.find(client_id);
  COORD_STATE_CHECK(it != entries_.end() && it->second.last_index < raft_index);
  by_last_index_.erase(it->second.last_index);
  it->second.last_index = raft_index;
  by_last_index_.emplace(raft_index, client_id);
}

void DedupTable::Record(uint64_t client_id, uint64_t sequence, uint64_t raft_index,
                        coord::v1::Response response) {
  auto it = entries_.find(client_id);
  if (it == entries_.end()) {
    // Evict before inserting so the table never exceeds its capacity.
    while (capacity_ > 0 && entries_.size() >= capacity_) {
      auto oldest = by_last_index_.begin();
      entries_.erase(oldest->second);
      by_last_index_.erase(oldest);
    }
    if (capacity_ == 0) return;
    it = entries_.emplace(client_id, Entry{}).first;
  } else {
    COORD_STATE_CHECK(it->second.last_index < raft_index);
    by_last_index_.erase(it->second.last_index);
  }
  it->second.sequence = sequence;
  it->second.last_index = raft_index;
  it->second.response = std::move(response);
  by_last_index_.emplace(raft_index, client_id);
}

void DedupTable::ToSnapshot(coord::state::StateSnapshot* out) const {
  for (const auto& [client_id, e] : entries_) {
    coord::state::DedupRecord* r = out->add_dedup();
    r->set_client_id(client_id);
    r->set_sequence(e.sequence);
    r->set_last_index(e.last_index);
    *r->mutable_response() = e.response;
  }
}

Result<DedupTable> DedupTable::FromSnapshot(const coord::state::StateSnapshot& snapshot,
                                            size_t capacity) {
  DedupTable table(capacity);
  uint64_t prev = 0;
  for (const coord::state::DedupRecord& r : snapshot.dedup()) {
    if (r.client_id() <= prev || r.sequence() == 0 || r.last_index() == 0 ||
        r.last_index() > snapshot.last_applied_index() ||
        !table.by_last_index_.emplace(r.last_index(), r.client_id()).second) {
      return Status::Corruption("state snapshot: bad dedup record for client " +
                                std::to_string(r.client_id()));
    }
    prev = r.client_id();
    table.entries_.emplace(r.client_id(), Entry{r.sequence(), r.last_index(), r.response()});
  }
  // A snapshot from a member with a larger table: shrink deterministically.
  while (table.entries_.size() > capacity) {
    auto oldest = table.by_last_index_.begin();
    table.entries_.erase(oldest->second);
    table.by_last_index_.erase(oldest);
  }
  return table;
}

}  // namespace coord::server
