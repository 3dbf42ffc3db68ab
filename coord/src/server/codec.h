// The wire codec of /v1/ws: binary frames hold protobuf, text frames hold
// protobuf's JSON mapping (unknown fields are errors). Also the mapping of
// internal Status codes to API errors.
#pragma once

#include <string>
#include <string_view>

#include "coord.pb.h"
#include "coord/status.h"

namespace coord::server {

// Decodes one client frame. Errors (kInvalidArgument, with a message saying
// what was wrong): undecodable protobuf (including a string field that is not
// UTF-8), malformed JSON or an unknown field, a request without a body.
// `id`, if given, receives the request's id whenever it can be read, on
// failure too, so that the error reply can name it.
Result<coord::v1::Request> DecodeRequest(std::string_view payload, bool text,
                                         uint64_t* id = nullptr);

// The `id` field of a binary request, read from the wire format without
// decoding any other field (0 if absent or unreadable).
uint64_t PeekRequestId(std::string_view payload);

// Encodes a server message for a binary (protobuf) or text (JSON) frame.
std::string EncodeServerMessage(const coord::v1::ServerMessage& message, bool text);

// The API error for an internal status. Internal codes become UNAVAILABLE
// (kNotLeader, kAborted, kIOError) or INTERNAL (kCorruption, kInternal);
// `leader_hint` is the leader's client address, set for UNAVAILABLE if known.
coord::v1::Error ApiError(const Status& status, const std::string& leader_hint);

// A Response carrying only `error` for request `id`.
coord::v1::Response ErrorResponse(uint64_t id, coord::v1::ErrorCode code, std::string message);

// The name of a request body case, e.g. "put", "watch_create"; "none" if unset.
std::string RequestTypeName(const coord::v1::Request& request);

}  // namespace coord::server
