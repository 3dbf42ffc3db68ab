// Probe: synchronous one-off requests for the `leader` helper mode (not timed).
#pragma once

#include <string>
#include <vector>

#include "coord.pb.h"
#include "coord/status.h"

namespace coord::bench {

// Sends `request` to ws://endpoint/v1/ws and returns the Response (any error code).
// Errors: kUnavailable (connect, I/O or timeout), kInvalidArgument (bad reply).
Result<coord::v1::Response> CallOnce(const std::string& endpoint, coord::v1::Request request,
                                     int timeout_ms);

// The client address of the current leader, asking the endpoints in order
// (status for the leader's name, then member_list for its address).
Result<std::string> FindLeader(const std::vector<std::string>& endpoints, int timeout_ms);

}  // namespace coord::bench
