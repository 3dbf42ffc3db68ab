// Elections: validation and the API shape of campaign, resign, proclaim and the
// leader lookup, on top of ElectionTable.
#include <string>
#include <utility>

#include "state/state_machine_impl.h"

namespace coord::server {

namespace {

Status CheckValue(const std::string& value, size_t limit) {
  if (value.size() > limit) {
    return Status::TooLarge("value of " + std::to_string(value.size()) +
                            " bytes exceeds the limit of " + std::to_string(limit));
  }
  return Status::Ok();
}

}  // namespace

Status StateMachine::Impl::ElectionCampaign(const coord::v1::ElectionCampaignRequest& req,
                                            uint64_t raft_index,
                                            coord::v1::ElectionCampaignResponse* out,
                                            ApplyResult* result) {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "election"));
  COORD_RETURN_IF_ERROR(CheckValue(req.value(), options_.max_value_bytes));
  COORD_RETURN_IF_ERROR(CheckLiveSession(req.session()));
  ElectionTable::CampaignOutcome o = elections_.Campaign(req.name(), req.session(), req.value(),
                                                         raft_index, &result->election_changes);
  out->set_leader(o.leader);
  out->set_term(o.term);
  out->set_position(o.position);
  return Status::Ok();
}

Status StateMachine::Impl::ElectionResign(const coord::v1::ElectionResignRequest& req,
                                          ApplyResult* result) {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "election"));
  COORD_RETURN_IF_ERROR(CheckLiveSession(req.session()));
  return elections_.Resign(req.name(), req.session(), &result->election_changes);
}

Status StateMachine::Impl::ElectionProclaim(const coord::v1::ElectionProclaimRequest& req,
                                            coord::v1::ElectionProclaimResponse* out,
                                            ApplyResult* result) {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "election"));
  COORD_RETURN_IF_ERROR(CheckValue(req.value(), options_.max_value_bytes));
  COORD_RETURN_IF_ERROR(CheckLiveSession(req.session()));
  Result<int64_t> term =
      elections_.Proclaim(req.name(), req.session(), req.value(), &result->election_changes);
  if (!term.ok()) return term.status();
  out->set_term(*term);
  return Status::Ok();
}

Result<coord::v1::ElectionLeaderResponse> StateMachine::Impl::ElectionLeaderOf(
    const coord::v1::ElectionLeaderRequest& req) const {
  COORD_RETURN_IF_ERROR(CheckName(req.name(), "election"));
  const Election* e = elections_.Find(req.name());
  if (e == nullptr || e->candidates.empty()) {
    return Status::NotFound("election \"" + req.name() + "\" has no leader" +
                            (e != nullptr ? " (last term " + std::to_string(e->term) + ")" : ""));
  }
  coord::v1::ElectionLeaderResponse out;
  *out.mutable_leader() = e->Leader(req.name());
  return out;
}

}  // namespace coord::server
