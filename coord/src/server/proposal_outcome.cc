#include "server/proposal_outcome.h"

namespace coord::server {

Status OutcomeUnknown(const std::string& why) {
  return Status::Timeout(why + "; the request may or may not have been applied (retry it with "
                               "the same client_id/sequence to find out)");
}

Status NotServed(const Status& s) {
  if (s.code() == StatusCode::kTimeout) return Status::Unavailable("deadline passed: " + s.message());
  return s;
}

ProposalFailure DescribeProposalFailure(const raft::ProposeResult& result) {
  const Status& s = result.status;
  if (result.indeterminate) return {OutcomeUnknown(s.message()), false};
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kTooLarge:
      return {s, false};
    case StatusCode::kNotLeader:
    case StatusCode::kAborted:
    case StatusCode::kUnavailable:
      return {Status::Unavailable(s.message() + " (not applied)"), true};
    default:
      // Refused before it was appended (deadline passed in the queue, member
      // failed): certainly not applied, but proposing again here will not help.
      return {Status::Unavailable(s.message() + " (not applied)"), false};
  }
}

}  // namespace coord::server
