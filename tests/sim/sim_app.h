// SimApp: the tiny replicated state machine every simulated member runs.
//
// Its state is a hash chain over the applied entries: chain(i) =
// Mix(chain(i-1), term(i), EntryHash(entry i)). Two members that applied the same
// sequence have the same chain, so comparing one number compares whole histories.
// It also tracks the membership as of its applied index (the ConfState a snapshot
// taken at that index must carry), because the core's conf_state() describes the
// end of the log, not the applied index.
//
// Snapshot images are deliberately a few hundred bytes (a header plus filler
// derived from the chain) so that small snapshot_chunk_bytes split them into many
// chunks, and Restore verifies every byte, catching a chunk reassembly bug.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft::sim {

// Hash of an entry's payload (type and data, not index/term).
uint64_t EntryHash(const pb::Entry& entry);

// Applies a single-server membership change to `conf` (voters and learners kept
// sorted and disjoint). Unknown types are ignored.
void ApplyConfChange(const pb::ConfChange& change, pb::ConfState* conf);

class SimApp {
 public:
  // A state machine that has applied nothing, with the cluster's initial
  // membership (what index 0 means).
  explicit SimApp(pb::ConfState initial_conf) : conf_(std::move(initial_conf)) {}

  // Applies the next entry. kInternal if entry.index() != applied() + 1 or a
  // conf change does not parse.
  Status Apply(const pb::Entry& entry);

  // Replaces the state with a snapshot image. kCorruption if the image does not
  // decode or disagrees with the metadata.
  Status Restore(const pb::Snapshot& snapshot);

  // The image of the current state (for LogStorage::CreateSnapshot).
  std::string EncodeImage() const;

  Index applied() const { return applied_; }
  Term applied_term() const { return applied_term_; }
  uint64_t chain() const { return chain_; }
  const pb::ConfState& conf() const { return conf_; }

  // Chain value after applying `entry` on top of `prev_chain`.
  static uint64_t NextChain(uint64_t prev_chain, const pb::Entry& entry);

 private:
  Index applied_ = 0;
  Term applied_term_ = 0;
  uint64_t chain_ = 0;
  pb::ConfState conf_;
};

}  // namespace coord::raft::sim
