// What the protocol says about each request type, shared by the server and the
// client library (both link coord_proto).
#pragma once

#include "coord.pb.h"

namespace coord::v1 {

// Writes go through the Raft log (a follower forwards them to the leader) and
// carry the exactly-once (client_id, sequence) pair: put, delete, txn, compact,
// session create/keepalive/close, lock acquire/release/revoke, election
// campaign/resign/proclaim, tpc begin/vote/ack and topic_commit_offset.
// Membership changes are not writes in this sense (they are Raft conf changes).
bool IsWriteRequest(Request::BodyCase body);

}  // namespace coord::v1
