// Protocol rules that are not expressed by the schema itself, shared by the
// server, the state machine and the client library (all link coord_proto).
#pragma once

#include <optional>
#include <string_view>

#include "coord.pb.h"

namespace coord::v1 {

// Writes go through the Raft log (a follower forwards them to the leader) and
// carry the exactly-once (client_id, sequence) pair: put, delete, txn, compact,
// session create/keepalive/close, lock acquire/release/revoke, election
// campaign/resign/proclaim, tpc begin/vote/ack, topic_commit_offset, topic_trim,
// auth_set, user_change and role_change.
// Membership changes are not writes in this sense (they are Raft conf changes).
bool IsWriteRequest(Request::BodyCase body);

// The value of a 2PC transaction's mirror key "/_coord/txn/<20-digit id>"
// (docs/decisions.md D31): "PREPARING", "COMMITTED" or "ABORTED" ("UNKNOWN" for
// any other state), and back (nullopt for any other value).
std::string_view TpcMirrorValue(TpcState state);
std::optional<TpcState> TpcStateFromMirrorValue(std::string_view value);

}  // namespace coord::v1
