// The commands of coordctl: their words, flags, arity and usage text.
//
// The table is data only; ParseCommandLine (args.h) parses against it and main
// dispatches on CommandSpec::words. docs/cli.md describes the same commands.
//
// Thread-safety: the table is immutable after first use.
#pragma once

#include <string>
#include <vector>

#include "args.h"

namespace coord::ctl {

// Every command, in help order.
const std::vector<CommandSpec>& CommandTable();

// The full --help text (global flags and every command with its flags).
std::string UsageText();
// The help of one command ("coordctl get --help").
std::string CommandUsage(const CommandSpec& spec);

}  // namespace coord::ctl
