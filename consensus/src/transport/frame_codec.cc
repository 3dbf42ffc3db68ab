#include "transport/frame_codec.h"

#include <cstring>
#include <limits>

namespace coord::raft::transport {

Result<std::string> EncodeFrame(const pb::PeerFrame& frame, size_t max_frame_bytes) {
  const size_t body = frame.ByteSizeLong();
  if (body > max_frame_bytes || body > std::numeric_limits<uint32_t>::max()) {
    return Status::TooLarge("frame of " + std::to_string(body) + " bytes exceeds the limit of " +
                            std::to_string(max_frame_bytes));
  }
  std::string out(kFrameHeaderBytes + body, '\0');
  auto header = EncodeFrameHeader(static_cast<uint32_t>(body));
  std::memcpy(out.data(), header.data(), header.size());
  if (!frame.SerializeToArray(out.data() + kFrameHeaderBytes, static_cast<int>(body))) {
    return Status::Internal("PeerFrame serialization failed");
  }
  return out;
}

std::array<uint8_t, kFrameHeaderBytes> EncodeFrameHeader(uint32_t length) {
  return {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
          static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

Result<uint32_t> DecodeFrameHeader(const uint8_t* header, size_t max_frame_bytes) {
  const uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                          (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (length == 0) return Status::InvalidArgument("empty frame");
  if (length > max_frame_bytes) {
    return Status::TooLarge("frame length " + std::to_string(length) +
                            " exceeds the limit of " + std::to_string(max_frame_bytes));
  }
  return length;
}

Result<pb::PeerFrame> DecodeFrameBody(const uint8_t* data, size_t size, uint64_t cluster_id) {
  pb::PeerFrame frame;
  // Protobuf takes an int size; the header check keeps bodies far below 2 GiB in
  // practice, but refuse rather than truncate if a caller passes more.
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !frame.ParseFromArray(data, static_cast<int>(size))) {
    return Status::InvalidArgument("frame does not parse as PeerFrame");
  }
  if (frame.from() == kNoNode) return Status::InvalidArgument("frame has no sender id");
  if (cluster_id != 0 && frame.cluster_id() != cluster_id) {
    return Status::InvalidArgument("cluster id " + std::to_string(frame.cluster_id()) +
                                   " does not match ours (" + std::to_string(cluster_id) + ")");
  }
  switch (frame.body_case()) {
    case pb::PeerFrame::kRaft:
      if (frame.raft().from() != frame.from()) {
        return Status::InvalidArgument("raft message from " + std::to_string(frame.raft().from()) +
                                       " in a frame from " + std::to_string(frame.from()));
      }
      break;
    case pb::PeerFrame::kApp:
    case pb::PeerFrame::kChallenge:
    case pb::PeerFrame::kHello:
      break;
    case pb::PeerFrame::BODY_NOT_SET:
      return Status::InvalidArgument("frame has no body");
  }
  return frame;
}

}  // namespace coord::raft::transport
