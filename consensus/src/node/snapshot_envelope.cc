#include "node/snapshot_envelope.h"

#include <cstring>
#include <string_view>

namespace coord::raft::node_internal {
namespace {

constexpr std::string_view kMagic = "CNS1";

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads `bytes` little-endian bytes at *pos; false when the input is too short.
bool GetFixed(std::string_view in, size_t* pos, int bytes, uint64_t* v) {
  if (in.size() - *pos < static_cast<size_t>(bytes)) return false;
  uint64_t r = 0;
  for (int i = 0; i < bytes; ++i) {
    r |= static_cast<uint64_t>(static_cast<unsigned char>(in[*pos + i])) << (8 * i);
  }
  *pos += bytes;
  *v = r;
  return true;
}

}  // namespace

std::string EncodeSnapshotEnvelope(const SnapshotEnvelope& envelope) {
  std::string out(kMagic);
  PutFixed(&out, envelope.addresses.size(), 4);
  for (const auto& [id, address] : envelope.addresses) {
    PutFixed(&out, id, 8);
    PutFixed(&out, address.size(), 4);
    out += address;
  }
  out += envelope.app_image;
  return out;
}

Result<SnapshotEnvelope> DecodeSnapshotEnvelope(const std::string& data) {
  std::string_view in(data);
  if (in.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption("snapshot image: bad magic (not written by a coord node)");
  }
  size_t pos = kMagic.size();
  uint64_t count = 0;
  if (!GetFixed(in, &pos, 4, &count)) return Status::Corruption("snapshot image: truncated header");
  SnapshotEnvelope envelope;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id = 0;
    uint64_t len = 0;
    if (!GetFixed(in, &pos, 8, &id) || !GetFixed(in, &pos, 4, &len) || in.size() - pos < len) {
      return Status::Corruption("snapshot image: truncated address book");
    }
    if (id == kNoNode) return Status::Corruption("snapshot image: address for member id 0");
    envelope.addresses[id] = std::string(in.substr(pos, len));
    pos += len;
  }
  envelope.app_image = std::string(in.substr(pos));
  return envelope;
}

}  // namespace coord::raft::node_internal
