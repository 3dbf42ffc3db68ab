#include "state/tpc_table.h"

#include <set>
#include <utility>

#include "wire_rules.h"

namespace coord::server {

namespace {

Status UnknownTxn(uint64_t id) {
  return Status::NotFound("no 2PC transaction " + std::to_string(id) +
                          " (never begun, or forgotten after its decision)");
}

Status NotParticipant(uint64_t id, const std::string& name) {
  return Status(StatusCode::kPermissionDenied,
                "\"" + name + "\" is not a participant of 2PC transaction " + std::to_string(id));
}

std::string VoteName(coord::v1::TpcVote vote) {
  return vote == coord::v1::TPC_VOTE_YES ? "YES" : vote == coord::v1::TPC_VOTE_NO ? "NO" : "NONE";
}

}  // namespace

std::string TpcStateName(coord::v1::TpcState state) {
  return std::string(coord::v1::TpcMirrorValue(state));
}

const TpcParticipantState* TpcTxn::Participant(std::string_view name) const {
  for (const TpcParticipantState& p : participants) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

bool TpcTxn::Pending(std::string_view name) const {
  const TpcParticipantState* p = Participant(name);
  return p != nullptr && !p->acked;
}

std::vector<std::string> TpcTxn::Names() const {
  std::vector<std::string> out;
  out.reserve(participants.size());
  for (const TpcParticipantState& p : participants) out.push_back(p.name);
  return out;
}

coord::v1::TpcTxnInfo TpcTxn::ToInfo(uint64_t id) const {
  coord::v1::TpcTxnInfo info;
  info.set_txn_id(id);
  info.set_state(state);
  for (const TpcParticipantState& p : participants) {
    coord::v1::TpcParticipant* out = info.add_participants();
    out->set_name(p.name);
    out->set_vote(p.vote);
    out->set_acked(p.acked);
  }
  info.set_payload(payload);
  info.set_timeout_ms(timeout_ms);
  info.set_created_index(created_index);
  info.set_decided_index(decided_index);
  info.set_reason(reason);
  return info;
}

const TpcTxn* TpcTable::Find(uint64_t id) const {
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : &it->second;
}

uint64_t TpcTable::Begin(const std::vector<std::string>& participants, std::string payload,
                         int64_t timeout_ms, uint64_t raft_index) {
  const uint64_t id = ++last_id_;
  TpcTxn& txn = txns_[id];
  for (const std::string& name : participants) txn.participants.push_back({name});
  txn.payload = std::move(payload);
  txn.timeout_ms = timeout_ms;
  txn.created_index = raft_index;
  return id;
}

Result<TpcTable::VoteOutcome> TpcTable::Vote(uint64_t id, const std::string& participant,
                                             coord::v1::TpcVote vote, uint64_t raft_index) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return UnknownTxn(id);
  TpcTxn& txn = it->second;
  TpcParticipantState* p = nullptr;
  for (TpcParticipantState& candidate : txn.participants) {
    if (candidate.name == participant) p = &candidate;
  }
  if (p == nullptr) return NotParticipant(id, participant);
  VoteOutcome out;
  out.state = txn.state;
  // A retry of the same vote (e.g. after a lost reply) answers the same way.
  if (p->vote == vote) return out;
  if (p->vote != coord::v1::TPC_VOTE_NONE) {
    return Status::Conflict("\"" + participant + "\" already voted " + VoteName(p->vote) +
                            " in 2PC transaction " + std::to_string(id) + "; a vote cannot change");
  }
  if (txn.decided()) {
    // A late NO agrees with an abort (typically one by timeout): nothing to do.
    if (txn.state == coord::v1::TPC_ABORTED && vote == coord::v1::TPC_VOTE_NO) return out;
    return Status::Conflict("2PC transaction " + std::to_string(id) + " is already " +
                            TpcStateName(txn.state) + " (" + txn.reason + "); vote " +
                            VoteName(vote) + " by \"" + participant +
                            "\" contradicts the decision");
  }
  p->vote = vote;
  if (vote == coord::v1::TPC_VOTE_NO) {
    txn.state = coord::v1::TPC_ABORTED;
    txn.reason = "vote NO by " + participant;
  } else {
    bool all_yes = true;
    for (const TpcParticipantState& q : txn.participants) {
      all_yes = all_yes && q.vote == coord::v1::TPC_VOTE_YES;
    }
    if (all_yes) txn.state = coord::v1::TPC_COMMITTED;
  }
  if (txn.decided()) {
    txn.decided_index = raft_index;
    out.decided_now = true;
  }
  out.state = txn.state;
  return out;
}

Result<bool> TpcTable::Ack(uint64_t id, const std::string& participant) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return UnknownTxn(id);
  TpcTxn& txn = it->second;
  TpcParticipantState* p = nullptr;
  for (TpcParticipantState& candidate : txn.participants) {
    if (candidate.name == participant) p = &candidate;
  }
  if (p == nullptr) return NotParticipant(id, participant);
  if (!txn.decided()) {
    return Status::Conflict("2PC transaction " + std::to_string(id) +
                            " is not decided yet; acknowledge only an applied decision");
  }
  p->acked = true;
  for (const TpcParticipantState& q : txn.participants) {
    if (!q.acked) return false;
  }
  return true;
}

bool TpcTable::Timeout(uint64_t id, uint64_t raft_index) {
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second.decided()) return false;
  it->second.state = coord::v1::TPC_ABORTED;
  it->second.reason = "timeout";
  it->second.decided_index = raft_index;
  return true;
}

bool TpcTable::Forget(uint64_t id) {
  auto it = txns_.find(id);
  if (it == txns_.end() || !it->second.decided()) return false;
  txns_.erase(it);
  return true;
}

void TpcTable::ToSnapshot(coord::state::StateSnapshot* out) const {
  out->set_last_txn_id(last_id_);
  for (const auto& [id, txn] : txns_) {
    coord::state::TpcTxnRecord* r = out->add_tpc_txns();
    r->set_txn_id(id);
    r->set_state(txn.state);
    for (const TpcParticipantState& p : txn.participants) {
      coord::state::TpcParticipantRecord* pr = r->add_participants();
      pr->set_name(p.name);
      pr->set_vote(p.vote);
      pr->set_acked(p.acked);
    }
    r->set_payload(txn.payload);
    r->set_timeout_ms(txn.timeout_ms);
    r->set_created_index(txn.created_index);
    r->set_decided_index(txn.decided_index);
    r->set_reason(txn.reason);
  }
}

Status TpcTable::Load(const coord::state::StateSnapshot& snapshot) {
  auto corrupt = [](uint64_t id, const std::string& what) {
    return Status::Corruption("state snapshot: 2PC transaction " + std::to_string(id) + ": " +
                              what);
  };
  last_id_ = snapshot.last_txn_id();
  uint64_t previous = 0;
  for (const coord::state::TpcTxnRecord& r : snapshot.tpc_txns()) {
    const uint64_t id = r.txn_id();
    if (id == 0 || id <= previous || id > last_id_) return corrupt(id, "bad or unordered id");
    previous = id;
    TpcTxn txn;
    txn.state = r.state();
    if (txn.state != coord::v1::TPC_PREPARING && txn.state != coord::v1::TPC_COMMITTED &&
        txn.state != coord::v1::TPC_ABORTED) {
      return corrupt(id, "bad state");
    }
    if (r.participants().empty()) return corrupt(id, "no participants");
    std::set<std::string> names;
    bool any_no = false, all_yes = true, any_acked = false, all_acked = true;
    for (const coord::state::TpcParticipantRecord& p : r.participants()) {
      if (p.name().empty() || !names.insert(p.name()).second) {
        return corrupt(id, "empty or repeated participant");
      }
      if (!coord::v1::TpcVote_IsValid(p.vote())) return corrupt(id, "bad vote");
      any_no = any_no || p.vote() == coord::v1::TPC_VOTE_NO;
      all_yes = all_yes && p.vote() == coord::v1::TPC_VOTE_YES;
      any_acked = any_acked || p.acked();
      all_acked = all_acked && p.acked();
      txn.participants.push_back({p.name(), p.vote(), p.acked()});
    }
    const bool consistent = txn.state == coord::v1::TPC_PREPARING
                                ? !any_no && !all_yes && !any_acked && r.decided_index() == 0
                                : r.decided_index() > 0 && !all_acked &&
                                      (txn.state == coord::v1::TPC_ABORTED || all_yes);
    if (!consistent) return corrupt(id, "votes, acknowledgements and state disagree");
    txn.payload = r.payload();
    txn.timeout_ms = r.timeout_ms();
    txn.created_index = r.created_index();
    txn.decided_index = r.decided_index();
    txn.reason = r.reason();
    txns_.emplace(id, std::move(txn));
  }
  return Status::Ok();
}

}  // namespace coord::server
