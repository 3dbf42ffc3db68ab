// Internal invariant checks of the Raft core.
//
// A broken internal invariant means a bug in the core (never bad peer input, which
// is reported as a Status): continuing could violate safety, so the process aborts
// with a message naming the condition and the source line.
#pragma once

#include <string_view>

namespace coord::raft::internal {

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view message);

}  // namespace coord::raft::internal

#define COORD_CHECK(cond)                                                             \
  do {                                                                                \
    if (!(cond)) ::coord::raft::internal::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define COORD_CHECK_MSG(cond, msg)                                                       \
  do {                                                                                   \
    if (!(cond)) ::coord::raft::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
