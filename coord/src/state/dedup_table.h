// DedupTable: the exactly-once table — per client, the last sequence applied and
// the Response it produced.
//
// Bounded: at most `capacity` clients. When a new client would exceed it, the
// client whose last command has the lowest Raft index is forgotten. Raft indexes
// are unique per command, so the order is total and identical on every member.
//
// Thread-safety: none (owned by StateMachine::Impl).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "coord.pb.h"
#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

class DedupTable {
 public:
  struct Entry {
    uint64_t sequence = 0;
    uint64_t last_index = 0;  // Raft index of the client's last command
    coord::v1::Response response;
  };

  explicit DedupTable(size_t capacity) : capacity_(capacity) {}

  const Entry* Find(uint64_t client_id) const;
  // Marks the client as used at `raft_index` (> its last_index).
  void Touch(uint64_t client_id, uint64_t raft_index);
  // Remembers `response` as the result of (client_id, sequence) at `raft_index`,
  // evicting the least recently used client if the table is full.
  void Record(uint64_t client_id, uint64_t sequence, uint64_t raft_index,
              coord::v1::Response response);

  size_t size() const { return entries_.size(); }

  void ToSnapshot(coord::state::StateSnapshot* out) const;
  static Result<DedupTable> FromSnapshot(const coord::state::StateSnapshot& snapshot,
                                         size_t capacity);

 private:
  size_t capacity_;
  std::map<uint64_t, Entry> entries_;           // by client id
  std::map<uint64_t, uint64_t> by_last_index_;  // last_index -> client id (LRU order)
};

}  // namespace coord::server
