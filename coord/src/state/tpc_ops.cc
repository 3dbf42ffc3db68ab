// 2PC transactions: validation and the API shape of begin, vote, ack, the
// leader-proposed timeout and forget, and the reads, on top of TpcTable.
//
// Each begin, decision and forget also writes the txn's mirror key (one revision),
// so clients can watch "/_coord/txn/" like any prefix. Votes that do not decide
// are not mirrored: Get shows them. Validation runs before anything changes.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "state/check.h"
#include "state/state_machine_impl.h"

namespace coord::server {

namespace {

constexpr char kTpcKeyPrefix[] = "/_coord/txn/";

}  // namespace

std::string StateMachine::Impl::TpcKey(uint64_t id) { return kTpcKeyPrefix + PadSequence(id); }

int64_t StateMachine::Impl::ClampTpcTimeout(int64_t timeout_ms) const {
  if (timeout_ms == 0) timeout_ms = options_.default_tpc_timeout_ms;
  return std::clamp(timeout_ms, options_.min_tpc_timeout_ms,
                    std::max(options_.min_tpc_timeout_ms, options_.max_tpc_timeout_ms));
}

Status StateMachine::Impl::TpcBegin(const coord::v1::TpcBeginRequest& req, uint64_t raft_index,
                                    coord::v1::TpcBeginResponse* out, ApplyResult* result) {
  if (req.participants().empty()) {
    return Status::InvalidArgument("a 2PC transaction needs at least one participant");
  }
  if (static_cast<size_t>(req.participants_size()) > options_.max_tpc_participants) {
    return Status::TooLarge(std::to_string(req.participants_size()) +
                            " participants exceed the limit of " +
                            std::to_string(options_.max_tpc_participants));
  }
  std::set<std::string_view> seen;
  for (const std::string& name : req.participants()) {
    COORD_RETURN_IF_ERROR(CheckName(name, "participant"));
    if (!seen.insert(name).second) {
      return Status::InvalidArgument("participant \"" + name + "\" is named twice");
    }
  }
  if (req.payload().size() > options_.max_value_bytes) {
    return Status::TooLarge("payload of " + std::to_string(req.payload().size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(options_.max_value_bytes));
  }
  if (req.timeout_ms() < 0) return Status::InvalidArgument("timeout_ms must not be negative");

  const int64_t timeout = ClampTpcTimeout(req.timeout_ms());
  std::vector<std::string> names(req.participants().begin(), req.participants().end());
  const uint64_t id = tpc_.Begin(names, req.payload(), timeout, raft_index);
  coord::v1::PutRequest mirror;
  mirror.set_key(TpcKey(id));
  mirror.set_value(TpcStateName(coord::v1::TPC_PREPARING));
  ExecPut(mirror, keys_.revision() + 1);

  out->set_txn_id(id);
  out->set_timeout_ms(timeout);
  result->tpc_prepares.push_back(TpcPrepare{id, std::move(names), req.payload(), timeout});
  result->tpc_timers.push_back(TpcTimer{id, TpcTimerKind::kTimeout, timeout});
  return Status::Ok();
}

void StateMachine::Impl::AfterTpcDecision(uint64_t id, ApplyResult* result) {
  const TpcTxn* txn = tpc_.Find(id);
  COORD_STATE_CHECK(txn != nullptr && txn->decided());
  result->tpc_decisions.push_back(TpcDecision{id, txn->state, txn->Names(), txn->reason});
  result->tpc_timers.push_back(TpcTimer{id, TpcTimerKind::kForget, options_.tpc_retention_ms});
  coord::v1::PutRequest mirror;
  mirror.set_key(TpcKey(id));
  mirror.set_value(TpcStateName(txn->state));
  ExecPut(mirror, keys_.revision() + 1);
}

void StateMachine::Impl::ForgetTpc(uint64_t id, ApplyResult* result) {
  COORD_STATE_CHECK(tpc_.Forget(id));
  // The mirror key may be gone already (a client deleted it): then nothing is written.
  DeleteKey(TpcKey(id), keys_.revision() + 1);
  result->tpc_forgotten.push_back(id);
}

Status StateMachine::Impl::TpcVote(const coord::v1::TpcVoteRequest& req, uint64_t raft_index,
                                   coord::v1::TpcVoteResponse* out, ApplyResult* result) {
  if (req.txn_id() == 0) return Status::InvalidArgument("txn_id must be positive");
  if (req.vote() != coord::v1::TPC_VOTE_YES && req.vote() != coord::v1::TPC_VOTE_NO) {
    return Status::InvalidArgument("vote must be YES or NO");
  }
  COORD_RETURN_IF_ERROR(CheckName(req.participant(), "participant"));
  Result<TpcTable::VoteOutcome> outcome =
      tpc_.Vote(req.txn_id(), req.participant(), req.vote(), raft_index);
  if (!outcome.ok()) return outcome.status();
  if (outcome->decided_now) AfterTpcDecision(req.txn_id(), result);
  out->set_state(outcome->state);
  return Status::Ok();
}

Status StateMachine::Impl::TpcAck(const coord::v1::TpcAckRequest& req,
                                  coord::v1::TpcAckResponse* out, ApplyResult* result) {
  if (req.txn_id() == 0) return Status::InvalidArgument("txn_id must be positive");
  COORD_RETURN_IF_ERROR(CheckName(req.participant(), "participant"));
  Result<bool> last = tpc_.Ack(req.txn_id(), req.participant());
  if (!last.ok()) return last.status();
  if (*last) ForgetTpc(req.txn_id(), result);
  out->set_forgotten(*last);
  return Status::Ok();
}

void StateMachine::Impl::TpcTimeout(const coord::state::TpcTimeout& req, uint64_t raft_index,
                                    ApplyResult* result) {
  // Leader-proposed: a timeout that lost the race against the deciding vote is a no-op.
  if (tpc_.Timeout(req.txn_id(), raft_index)) AfterTpcDecision(req.txn_id(), result);
}

void StateMachine::Impl::TpcForget(const coord::state::TpcForget& req, ApplyResult* result) {
  const TpcTxn* txn = tpc_.Find(req.txn_id());
  if (txn != nullptr && txn->decided()) ForgetTpc(req.txn_id(), result);
}

Result<coord::v1::TpcGetResponse> StateMachine::Impl::TpcGet(
    const coord::v1::TpcGetRequest& req) const {
  if (req.txn_id() == 0) return Status::InvalidArgument("txn_id must be positive");
  const TpcTxn* txn = tpc_.Find(req.txn_id());
  if (txn == nullptr) {
    return Status::NotFound("no 2PC transaction " + std::to_string(req.txn_id()) +
                            " (never begun, or forgotten after its decision)");
  }
  coord::v1::TpcGetResponse out;
  *out.mutable_txn() = txn->ToInfo(req.txn_id());
  return out;
}

Result<coord::v1::TpcListResponse> StateMachine::Impl::TpcList(
    const coord::v1::TpcListRequest& req) const {
  if (req.limit() < 0) return Status::InvalidArgument("limit must not be negative");
  if (req.participant().size() > options_.max_key_bytes) {
    return Status::TooLarge("participant name exceeds the limit of " +
                            std::to_string(options_.max_key_bytes) + " bytes");
  }
  coord::v1::TpcListResponse out;
  // O(remembered txns): they are few (forgotten once acknowledged).
  for (const auto& [id, txn] : tpc_.txns()) {
    if (!req.participant().empty() && !txn.Pending(req.participant())) continue;
    if (req.limit() != 0 && out.txns_size() == req.limit()) {
      out.set_more(true);
      break;
    }
    *out.add_txns() = txn.ToInfo(id);
  }
  return out;
}

}  // namespace coord::server
