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

// The largest term a member accepts from a message or reaches itself. Terms grow
// by one per election, so a real ensemble never comes near it (2^48 elections at
// one per millisecond take about 9,000 years). A larger term in a message is
// forged or corrupt: adopting it would let `term + 1` wrap to 0 and leave a data
// directory the member cannot start from, so such messages are refused and a
// member at kMaxTerm stops campaigning instead of wrapping.
inline constexpr Term kMaxTerm = (Term{1} << 48) - 1;
// The largest log index (or commit index) accepted from a message; leaves room
// for `index + entries` arithmetic without overflow.
inline constexpr Index kMaxIndex = (Index{1} << 62) - 1;

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

std::string_view RoleName(Role role);

}  // namespace coord::raft
