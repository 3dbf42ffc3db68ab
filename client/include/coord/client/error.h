// The server's error codes (coord.proto ErrorCode) as Status codes.
//
// Every Result<T> returned by the client library carries one of these codes:
//
//   INVALID_ARGUMENT  -> kInvalidArgument   (also: bad options / bad input locally)
//   NOT_FOUND         -> kNotFound
//   COMPACTED         -> kCompacted         (message names the compacted revision)
//   SESSION_EXPIRED   -> kSessionExpired    (also: a Session that is lost locally)
//   CONFLICT          -> kConflict          (failed guarded write, stale sequence, held lock)
//   TIMEOUT           -> kTimeout           (also: the call's local deadline passed)
//   UNAVAILABLE       -> kUnavailable       (no member reachable / no quorum in time)
//   TOO_LARGE         -> kTooLarge
//   PERMISSION_DENIED -> kPermissionDenied
//   UNAUTHENTICATED   -> kUnauthenticated
//   RESOURCE_EXHAUSTED -> kResourceExhausted (a count limit: sessions, watches)
//   INTERNAL, unknown -> kInternal
//
// A write that ends with kTimeout or kUnavailable MAY have been applied (the
// client retried it exactly-once until the deadline but never saw the reply).
// kAborted: the Client (or the owning object) is shutting down.
//
// Thread-safety: pure functions. Status: stable.
#pragma once

#include "coord.pb.h"
#include "coord/status.h"

namespace coord {

// The Status for a server error (OK code -> OK status). The message is the
// server's message; COMPACTED appends " (compacted revision N)".
Status StatusFromError(const coord::v1::Error& error);

// The StatusCode for a wire ErrorCode (unknown values -> kInternal).
StatusCode StatusCodeFromWire(coord::v1::ErrorCode code);

// The wire ErrorCode for a StatusCode (internal codes -> INTERNAL, kNotLeader ->
// UNAVAILABLE, kAborted -> UNAVAILABLE).
coord::v1::ErrorCode WireFromStatusCode(StatusCode code);

}  // namespace coord
