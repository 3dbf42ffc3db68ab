// The command implementations of coordctl, one function per command (or family),
// and the dispatcher main() uses.
//
// Each command first validates its arguments (a usage error never connects), then
// talks to the ensemble through the Context, prints through ctx.printer(), and
// returns the Outcome (exit code + one-line message; exit_codes.h).
//
// Thread-safety: called from the main thread only.
#pragma once

#include "args.h"
#include "context.h"
#include "exit_codes.h"

namespace coord::ctl {

// Runs inv.command. Precondition: inv.command != nullptr.
Outcome RunCommand(const Invocation& inv, Context& ctx);

// One-shot request/response commands: put, get, del, cas, session *, tx *,
// member *, status (cmd_oneshot.cc).
Outcome RunOneShot(const Invocation& inv, Context& ctx);
// watch KEY and elect --observe NAME: print events until a signal or --count
// (cmd_stream.cc).
Outcome RunWatch(const Invocation& inv, Context& ctx);
Outcome RunObserve(const Invocation& inv, Context& ctx);
// lock NAME [-- CMD ARGS...] (cmd_lock.cc).
Outcome RunLock(const Invocation& inv, Context& ctx);
// elect NAME VALUE (cmd_elect.cc).
Outcome RunElect(const Invocation& inv, Context& ctx);
// user *, role *, auth * (cmd_auth.cc).
Outcome RunAuth(const Invocation& inv, Context& ctx);
// snapshot save FILE (cmd_snapshot.cc).
Outcome RunSnapshotSave(const Invocation& inv, Context& ctx);

// The outcome of being stopped by `signo` before the awaited step finished
// (128 + signo, the shell convention, with `what` in the message).
Outcome Interrupted(int signo, const std::string& what);

}  // namespace coord::ctl
