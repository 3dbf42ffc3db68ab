// What a failed proposal tells its client.
//
// DESIGN's rule for writes: UNAVAILABLE only when the request was certainly not
// applied (never appended to a log, or overwritten by another leader's entry),
// TIMEOUT when it may have been (appended and then the deadline passed, the
// leadership changed, a snapshot superseded it, the member stopped, or the reply
// of a forward was lost). A client may retry either with the same
// client_id/sequence: the exactly-once table makes the retry safe.
#pragma once

#include "coord/consensus/node.h"
#include "coord/status.h"

namespace coord::server {

struct ProposalFailure {
  Status status;   // kUnavailable (certainly not applied), kTimeout (may have been)
                   // or a definite error of the request (kInvalidArgument)
  bool retryable;  // certainly not applied and worth proposing again before the deadline
};

// Precondition: !result.status.ok().
ProposalFailure DescribeProposalFailure(const raft::ProposeResult& result);

// The error for a request whose outcome is unknown (it may have been applied).
Status OutcomeUnknown(const std::string& why);

// The error for a request that applied nothing whatever went wrong (a read, a
// leadership transfer): a deadline passing is UNAVAILABLE, not TIMEOUT.
Status NotServed(const Status& s);

}  // namespace coord::server
