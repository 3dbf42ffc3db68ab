// The peer wire format: a 4-byte big-endian length N, then N bytes of a
// serialized pb::PeerFrame. Pure functions, no I/O; the connections use them and
// the tests exercise them directly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft::transport {

inline constexpr size_t kFrameHeaderBytes = 4;

// Returns the length prefix followed by the serialized frame.
// Errors: TooLarge when the body exceeds max_frame_bytes (or 2^32-1);
// Internal when protobuf refuses to serialize.
Result<std::string> EncodeFrame(const pb::PeerFrame& frame, size_t max_frame_bytes);

// Writes `length` big-endian into `out`.
std::array<uint8_t, kFrameHeaderBytes> EncodeFrameHeader(uint32_t length);

// Reads a length prefix and checks it against the limit. A zero length is
// refused too: an empty PeerFrame has no body and no sender.
// Errors: TooLarge, InvalidArgument.
Result<uint32_t> DecodeFrameHeader(const uint8_t* header, size_t max_frame_bytes);

// Parses and validates a frame body:
//   - it parses as a PeerFrame, carries a non-zero `from` and a body;
//   - when `cluster_id` != 0, the frame's cluster_id equals it;
//   - a Raft message's own `from` equals the frame's `from`.
// Which bodies are allowed when (handshake first) is the connection's business.
// Errors: InvalidArgument with the reason.
Result<pb::PeerFrame> DecodeFrameBody(const uint8_t* data, size_t size, uint64_t cluster_id);

}  // namespace coord::raft::transport
