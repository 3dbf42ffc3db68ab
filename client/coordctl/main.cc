// coordctl: the command line client of Coord (docs/cli.md).
#include <iostream>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "commands.h"
#include "context.h"
#include "exit_codes.h"
#include "stop_events.h"

int main(int argc, char** argv) {
  using namespace coord::ctl;
  // Before any thread exists (the client library starts two): see stop_events.h.
  BlockStopSignals();

  std::vector<std::string> args(argv + 1, argv + argc);
  coord::Result<Invocation> inv = ParseCommandLine(args, CommandTable());
  if (!inv.ok()) {
    std::cerr << "coordctl: " << OneLine(inv.status().message()) << "\n";
    return kExitUsage;
  }
  if (inv->global.help) {
    std::cout << (inv->command != nullptr ? "usage:\n" + CommandUsage(*inv->command) : UsageText());
    return kExitOk;
  }
  Outcome outcome;
  {
    Context ctx(inv->global, std::cout);
    outcome = RunCommand(*inv, ctx);
  }  // the client shuts down here, before the message is printed
  if (!outcome.message.empty()) std::cerr << "coordctl: " << outcome.message << "\n";
  return outcome.exit_code;
}
