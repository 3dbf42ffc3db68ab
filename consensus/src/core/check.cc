#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace coord::raft::internal {

void CheckFailed(const char* file, int line, const char* condition, std::string_view message) {
  std::fprintf(stderr, "coord raft: invariant violated at %s:%d: %s %.*s\n", file, line, condition,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace coord::raft::internal
