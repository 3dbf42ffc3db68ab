// SimNetwork: the simulated network between members of a simulation run.
//
// Time is the run's logical clock (SimCluster::now(), one unit per tick slot).
// Each sent message gets a delivery time now + delay, where the delay is drawn
// per message, so messages are reordered; a small fraction gets a long delay
// (delivered after elections have come and gone). A message may be dropped at
// send time (drop probability) or duplicated (delivered twice with independent
// delays). Links can be cut one way or both ways; a message whose link is cut at
// *delivery* time is dropped, so cutting a link also loses what was in flight.
//
// Delivery order among due messages is (deliver_at, send sequence): fully
// determined by the seed.
//
// Thread-safety: none.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "coord/consensus/types.h"
#include "sim_rng.h"

namespace coord::raft::sim {

struct NetworkFaults {
  double drop = 0.0;        // probability a sent message is lost
  double duplicate = 0.0;   // probability a sent message is delivered twice
  uint64_t max_delay = 4;   // delay uniform in [0, max_delay] time units
  double long_delay = 0.0;  // probability of a delay in [min_long, max_long]
  uint64_t min_long_delay = 20;
  uint64_t max_long_delay = 200;
};

class SimNetwork {
 public:
  explicit SimNetwork(SimRng* rng) : rng_(rng) {}

  void set_faults(const NetworkFaults& faults) { faults_ = faults; }
  const NetworkFaults& faults() const { return faults_; }

  // Queues `msg` (sent at `now`), subject to drop and duplication.
  void Send(pb::Message msg, uint64_t now);

  // Removes and returns the next message due at `now`, if any. Messages on a cut
  // link are discarded (counted in dropped()).
  std::optional<pb::Message> PopDue(uint64_t now);
  // True when some message is due at `now` (possibly on a cut link).
  bool HasDue(uint64_t now) const { return !heap_.empty() && heap_.front().deliver_at <= now; }

  // Link control. Cut(a, b) blocks a -> b only.
  void Cut(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void CutBoth(NodeId a, NodeId b) {
    Cut(a, b);
    Cut(b, a);
  }
  // Cuts every link between a member of `side` and a member of `others`.
  void Partition(const std::vector<NodeId>& side, const std::vector<NodeId>& others);
  bool IsCut(NodeId from, NodeId to) const { return cut_.count({from, to}) != 0; }
  bool HasCuts() const { return !cut_.empty(); }
  void HealAll() { cut_.clear(); }

  size_t in_flight() const { return heap_.size(); }
  // Messages in flight whose delivery time is <= now (O(n); for reports).
  size_t due(uint64_t now) const {
    return std::count_if(heap_.begin(), heap_.end(),
                         [now](const InFlight& f) { return f.deliver_at <= now; });
  }
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct InFlight {
    uint64_t deliver_at;
    uint64_t seq;
    pb::Message msg;
  };
  struct Later {
    bool operator()(const InFlight& a, const InFlight& b) const {
      return a.deliver_at != b.deliver_at ? a.deliver_at > b.deliver_at : a.seq > b.seq;
    }
  };

  uint64_t Delay();
  void Push(InFlight item);

  SimRng* rng_;
  NetworkFaults faults_;
  std::vector<InFlight> heap_;  // a min-heap on (deliver_at, seq) via Later
  std::set<std::pair<NodeId, NodeId>> cut_;
  uint64_t seq_ = 0;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace coord::raft::sim
