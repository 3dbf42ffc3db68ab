// Descriptor budget: how many client connections this process can accept
// without starving its own storage of file descriptors. When accept() took the
// last descriptor, LevelDB failed to open its next table file (EMFILE) and the
// member stopped for good; client sockets must never be able to do that.
//
// At start the soft RLIMIT_NOFILE is raised to the hard limit, a reserve is set
// aside (LevelDB's open-file cap, peer connections, snapshots, logs, the
// process's own descriptors), and the client connection cap becomes
// min(--max-connections, limit - reserve).
#pragma once

#include <cstddef>
#include <cstdint>

#include "coord/status.h"

namespace coord::server {

struct DescriptorBudget {
  uint64_t limit = 0;               // RLIMIT_NOFILE (soft, after raising it)
  uint64_t reserved = 0;            // kept for everything but client sockets
  size_t client_connections = 0;    // the effective connection cap
};

// Descriptors kept for storage files, peers and the rest.
inline constexpr uint64_t kReservedBaseDescriptors = 64;

// The pure part: the cap for `limit` descriptors. Errors: kInvalidArgument when
// the limit leaves fewer than 8 client connections (raise `ulimit -n`).
Result<DescriptorBudget> PlanDescriptorBudget(uint64_t limit, size_t max_connections,
                                              uint64_t storage_files, uint64_t peer_connections);

// Raises the soft limit to the hard one, then plans with it.
Result<DescriptorBudget> ReserveDescriptors(size_t max_connections, uint64_t storage_files,
                                            uint64_t peer_connections);

}  // namespace coord::server
