// DedupTable: the exactly-once table — per lane, the last sequence applied and
// the Response it produced. A lane is (client_id, client_incarnation): 128 bits,
// so client processes that picked the same client_id (a fixed base, a seeded
// generator, a restart) still never share one (incarnation 0 = the lane is the
// client id alone, as written before incarnations existed).
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
#include <string>

#include "coord.pb.h"
#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

// One exactly-once lane; ordered by client id, then incarnation.
struct LaneId {
  uint64_t client_id = 0;
  uint64_t incarnation = 0;
  auto operator<=>(const LaneId&) const = default;
};

// "client_id" or "client_id/incarnation", for messages.
std::string LaneName(const LaneId& lane);

class DedupTable {
 public:
  struct Entry {
    uint64_t sequence = 0;
    uint64_t last_index = 0;  // Raft index of the client's last command
    coord::v1::Response response;
  };

  explicit DedupTable(size_t capacity) : capacity_(capacity) {}

  const Entry* Find(const LaneId& lane) const;
  // Marks the lane as used at `raft_index` (> its last_index).
  void Touch(const LaneId& lane, uint64_t raft_index);
  // Remembers `response` as the result of (lane, sequence) at `raft_index`,
  // evicting the least recently used lane if the table is full.
  void Record(const LaneId& lane, uint64_t sequence, uint64_t raft_index,
              coord::v1::Response response);

  size_t size() const { return entries_.size(); }
  // Some lane has a non-zero incarnation (the snapshot then needs format 2).
  bool HasIncarnations() const;

  void ToSnapshot(coord::state::StateSnapshot* out) const;
  static Result<DedupTable> FromSnapshot(const coord::state::StateSnapshot& snapshot,
                                         size_t capacity);

 private:
  void Erase(std::map<LaneId, Entry>::iterator it);

  size_t capacity_;
  std::map<LaneId, Entry> entries_;            // by lane
  std::map<uint64_t, LaneId> by_last_index_;   // last_index -> lane (LRU order)
};

}  // namespace coord::server
