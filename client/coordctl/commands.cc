#include "commands.h"

#include <cstring>

#include "command_table.h"

namespace coord::ctl {

Outcome RunCommand(const Invocation& inv, Context& ctx) {
  const std::string name = CommandName(*inv.command);
  if (name == "watch") return RunWatch(inv, ctx);
  if (name == "lock") return RunLock(inv, ctx);
  if (name == "elect") return inv.Has("observe") ? RunObserve(inv, ctx) : RunElect(inv, ctx);
  if (name == "snapshot save") return RunSnapshotSave(inv, ctx);
  const std::string_view group = inv.command->words[0];
  if (group == "user" || group == "role" || group == "auth") return RunAuth(inv, ctx);
  return RunOneShot(inv, ctx);
}

Outcome Interrupted(int signo, const std::string& what) {
  const char* abbrev = sigabbrev_np(signo);
  const std::string sig = abbrev != nullptr ? "SIG" + std::string(abbrev) : "a signal";
  return {128 + signo, "interrupted by " + sig + " while " + what};
}

}  // namespace coord::ctl
