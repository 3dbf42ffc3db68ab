// coordctl's exit-code policy (documented in docs/cli.md, "Exit status").
//
// Every command ends in an Outcome: an exit code and, when the code is not 0, a
// one-line message that main() prints to stderr as "coordctl: <message>".
// Scripts can rely on the codes; the messages are for people.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>

#include "coord/status.h"

namespace coord::ctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,        // anything not listed below (INTERNAL, TOO_LARGE, COMPACTED,
                         // a server-side INVALID_ARGUMENT, local I/O errors...)
  kExitUsage = 2,        // bad command line: unknown command/flag, bad value, arity
  kExitNotFound = 3,     // NOT_FOUND: missing key (get KEY), session, txn, member, leader
  kExitConflict = 4,     // CONFLICT, a failed cas compare, a lock held (lock --no-wait)
  kExitUnavailable = 5,  // UNAVAILABLE or TIMEOUT: no endpoint, no quorum, deadline
  kExitSessionLost = 6,  // SESSION_EXPIRED, or the session of lock/elect was lost
};

struct Outcome {
  int exit_code = kExitOk;
  std::string message;  // one line; empty when exit_code is 0 (or a passed-through
                        // child status, see lock)

  bool ok() const { return exit_code == kExitOk; }
  static Outcome Ok() { return {}; }
};

// The exit code for a failed Status (by code; see the table above).
int ExitCodeFor(StatusCode code);

// The Outcome of a Status: Ok(), or ExitCodeFor(code) with "CODE: message"
// flattened to one line.
Outcome FromStatus(const Status& status);

// A usage error (exit 2) with `message`.
Outcome UsageError(std::string message);

// `text` with every control character (newlines included) replaced by a space, so
// an error message is always exactly one line.
std::string OneLine(std::string text);

}  // namespace coord::ctl
