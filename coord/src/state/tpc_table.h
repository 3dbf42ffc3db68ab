// TpcTable: the 2PC transactions the state machine still remembers.
//
// A transaction is PREPARING until its deciding vote or timeout, then COMMITTED or
// ABORTED for good. Invariants (checked on restore):
//   * ids are positive, <= last_txn_id, and never reused (the counter only grows);
//   * participants are non-empty, non-empty names, unique;
//   * PREPARING: no NO vote, not every vote YES, nobody acknowledged,
//     decided_index 0; COMMITTED: every vote YES; decided: decided_index > 0;
//   * a remembered decided txn has at least one participant that did not
//     acknowledge (the last acknowledgement forgets it).
// Forgotten transactions leave no trace besides last_txn_id.
//
// The table trusts its caller on the shape of a begin (validated in tpc_ops.cc);
// votes and acks are checked here because their errors depend on the state.
//
// Thread-safety: none (owned by StateMachine::Impl).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

struct TpcParticipantState {
  std::string name;
  coord::v1::TpcVote vote = coord::v1::TPC_VOTE_NONE;
  bool acked = false;
};

struct TpcTxn {
  coord::v1::TpcState state = coord::v1::TPC_PREPARING;
  std::vector<TpcParticipantState> participants;  // begin order
  std::string payload;
  int64_t timeout_ms = 0;
  uint64_t created_index = 0;
  uint64_t decided_index = 0;
  std::string reason;  // why it aborted

  bool decided() const { return state != coord::v1::TPC_PREPARING; }
  const TpcParticipantState* Participant(std::string_view name) const;
  // The participant still has something to do: vote, wait for the decision, or
  // acknowledge it.
  bool Pending(std::string_view name) const;
  std::vector<std::string> Names() const;
  coord::v1::TpcTxnInfo ToInfo(uint64_t id) const;
};

class TpcTable {
 public:
  struct VoteOutcome {
    coord::v1::TpcState state = coord::v1::TPC_PREPARING;
    bool decided_now = false;  // this vote decided the transaction
  };

  uint64_t last_txn_id() const { return last_id_; }
  const TpcTxn* Find(uint64_t id) const;
  const std::map<uint64_t, TpcTxn>& txns() const { return txns_; }

  // A new PREPARING transaction with the next id.
  uint64_t Begin(const std::vector<std::string>& participants, std::string payload,
                 int64_t timeout_ms, uint64_t raft_index);

  // Records a YES/NO vote (not NONE) and decides when it can. A repeated identical
  // vote, or a NO on an aborted transaction, changes nothing and succeeds.
  // Errors: NOT_FOUND, PERMISSION_DENIED (not a participant), CONFLICT (a changed
  // vote; a YES on an aborted transaction).
  Result<VoteOutcome> Vote(uint64_t id, const std::string& participant, coord::v1::TpcVote vote,
                           uint64_t raft_index);

  // Records an acknowledgement of the decision; returns true when it was the last
  // one (the caller then forgets the transaction). A repeated ack succeeds.
  // Errors: NOT_FOUND, PERMISSION_DENIED, CONFLICT (not decided yet).
  Result<bool> Ack(uint64_t id, const std::string& participant);

  // Aborts a PREPARING transaction (reason "timeout"); false if it is decided or
  // unknown (a stale timer).
  bool Timeout(uint64_t id, uint64_t raft_index);

  // Drops a decided transaction; false if it is PREPARING or unknown.
  bool Forget(uint64_t id);

  void ToSnapshot(coord::state::StateSnapshot* out) const;
  // Fills an empty table. Errors: CORRUPTION (broken invariants).
  Status Load(const coord::state::StateSnapshot& snapshot);

 private:
  std::map<uint64_t, TpcTxn> txns_;
  uint64_t last_id_ = 0;
};

// "PREPARING", "COMMITTED", "ABORTED" (the mirrored key's value).
std::string TpcStateName(coord::v1::TpcState state);

}  // namespace coord::server
