// Basic Raft vocabulary shared by the core, storage, transport and driver.
#pragma once

#include <cstdint>
#include <string_view>

#include "raft.pb.h"

namespace coord::raft {

using NodeId = uint64_t;  // 0 is never a valid member id
using Term = uint64_t;
using Index = uint64_t;   // log indexes start at 1; 0 means "before the log"

inline constexpr NodeId kNoNode = 0;

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

std::string_view RoleName(Role role);

}  // namespace coord::raft
