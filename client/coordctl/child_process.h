// Running the command of `coordctl lock NAME -- CMD ARGS...`.
//
// The child gets coordctl's environment plus the variables given (e.g.
// COORD_LOCK_TOKEN), SIGINT/SIGTERM unblocked with their default dispositions
// (coordctl itself blocks them, stop_events.h), and coordctl's stdin/stdout/stderr.
// CMD is looked up in PATH like a shell does.
//
// Thread-safety: the functions may be called from any thread; WaitChild for one
// pid from one thread only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coord::ctl {

// The exit status a shell reports for a child that could not be executed.
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitCommandNotFound = 127;

struct SpawnError {
  int exit_code;  // kExitCommandNotFound or kExitCannotExecute
  std::string message;
};

// Starts argv[0] (searched in PATH) with argv. Returns the pid, or the error.
// Precondition: argv is not empty.
std::pair<pid_t, std::optional<SpawnError>> SpawnChild(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& extra_env);

// Blocks until `pid` has exited WITHOUT reaping it (waitid WNOWAIT): until the
// owner reaps it with WaitChild, the pid cannot be reused, so signalling it stays
// safe. Meant for a watcher thread.
void WaitExitedNoReap(pid_t pid);

// Blocks until `pid` exits and reaps it. Returns its exit code, or 128 + the signal
// that killed it (the shell convention).
int WaitChild(pid_t pid);

}  // namespace coord::ctl
