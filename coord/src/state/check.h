// COORD_STATE_CHECK: a broken internal invariant of the state machine. Continuing
// on a corrupt replicated state would spread it, so the member stops loudly.
#pragma once

namespace coord::server {

[[noreturn]] void StateInvariantFailed(const char* file, int line, const char* what);

}  // namespace coord::server

#define COORD_STATE_CHECK(cond)                                                    \
  do {                                                                             \
    if (!(cond)) ::coord::server::StateInvariantFailed(__FILE__, __LINE__, #cond); \
  } while (0)
