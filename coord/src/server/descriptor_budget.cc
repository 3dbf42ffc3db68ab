#include "server/descriptor_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace coord::server {

namespace {
constexpr uint64_t kMinClientConnections = 8;
}  // namespace

Result<DescriptorBudget> PlanDescriptorBudget(uint64_t limit, size_t max_connections,
                                              uint64_t storage_files, uint64_t peer_connections) {
  DescriptorBudget b;
  b.limit = limit;
  b.reserved = storage_files + peer_connections + kReservedBaseDescriptors;
  const uint64_t available = limit > b.reserved ? limit - b.reserved : 0;
  if (available < std::min<uint64_t>(kMinClientConnections, max_connections)) {
    return Status::InvalidArgument(
        "the descriptor limit (ulimit -n) is " + std::to_string(limit) + ": coordd keeps " +
        std::to_string(b.reserved) + " for storage and peers and needs at least " +
        std::to_string(kMinClientConnections) + " more for clients; raise it");
  }
  b.client_connections = static_cast<size_t>(std::min<uint64_t>(max_connections, available));
  return b;
}

Result<DescriptorBudget> ReserveDescriptors(size_t max_connections, uint64_t storage_files,
                                            uint64_t peer_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return Status::IOError(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  const uint64_t limit =
      rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_cur);
  return PlanDescriptorBudget(limit, max_connections, storage_files, peer_connections);
}

}  // namespace coord::server
