// The node's snapshot image: the peer address book plus the application's image.
//
// Raft treats snapshot data as opaque bytes. The node wraps the StateMachine's
// image with the address book so a member that catches up from a snapshot (and so
// never sees the ConfChange entries that introduced its peers) still learns how
// to reach every member.
//
// Layout (all integers little-endian):
//   "CNS1"                          magic + version
//   u32 count                       number of address entries
//   count x { u64 id, u32 len, len bytes address }
//   rest                            the application image
#pragma once

#include <map>
#include <string>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft::node_internal {

struct SnapshotEnvelope {
  std::map<NodeId, std::string> addresses;
  std::string app_image;
};

std::string EncodeSnapshotEnvelope(const SnapshotEnvelope& envelope);

// Errors: kCorruption when `data` is not a well-formed envelope.
Result<SnapshotEnvelope> DecodeSnapshotEnvelope(const std::string& data);

}  // namespace coord::raft::node_internal
