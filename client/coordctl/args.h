// Command-line parsing for coordctl: a small, dependency-free parser.
//
// The command line is
//
//   coordctl [GLOBAL FLAGS] WORD [WORD] [FLAGS | ARGS]... [-- CMD ARGS...]
//
// where the leading WORDs select a command from the table in commands.h
// ("get", "session create", ...). Global flags (--endpoints, -o/--output,
// --timeout, -h/--help) may appear anywhere before "--"; a command's own flags may
// appear anywhere after the command words, mixed with its positional arguments.
// Flags take their value as "--flag value" or "--flag=value". A token that starts
// with '-' followed by a digit (e.g. "-1") is a positional argument, so negative
// numbers need no quoting. "--" ends the flags: what follows is the command to run
// for commands that take one (lock), and plain positional arguments otherwise.
// Once the command is known, its own flag wins over a global flag of the same
// name ("tx begin --timeout 30s" is the transaction's timeout; the request
// deadline then goes before the command words).
//
// Every failure here is a usage error (exit code kExitUsage) carrying a one-line
// message that names the offending token.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coord/status.h"

namespace coord::ctl {

// How results are printed (see docs/cli.md).
enum class OutputFormat { kText, kJson };

// The default client endpoint, as in DESIGN.md ("--listen-client" default).
inline constexpr std::string_view kDefaultEndpoint = "127.0.0.1:7420";
// The default per-request deadline.
inline constexpr std::chrono::milliseconds kDefaultTimeout{5000};

struct GlobalOptions {
  std::vector<std::string> endpoints{std::string(kDefaultEndpoint)};
  OutputFormat output = OutputFormat::kText;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  // TLS (wss://) when cacert is set: the CA of the members' certificates, and a
  // client certificate and key for members that require one (docs/security.md).
  std::string cacert;
  std::string cert;
  std::string key;
  // Authentication (docs/security.md): log in as `user` with the password in the
  // first line of `password_file`.
  std::string user;
  std::string password_file;
  bool help = false;
};

// One flag a command accepts, e.g. {"rev", true, "N", "read as of revision N"}.
struct FlagSpec {
  std::string_view name;        // without the leading "--"
  bool takes_value = false;     // "--rev N" vs. "--prefix"
  std::string_view value_name;  // for the usage text, e.g. "N"
  std::string_view help;
};

// One command of the table (commands.h).
struct CommandSpec {
  std::vector<std::string_view> words;  // e.g. {"session", "create"}
  std::string_view synopsis;            // arguments after the words, for usage
  std::string_view summary;             // one line
  std::vector<FlagSpec> flags;
  int min_args = 0;            // positional arguments
  int max_args = 0;            // -1 = unbounded
  bool takes_command = false;  // accepts "-- CMD ARGS..."
};

// "session create" for {"session", "create"}.
std::string CommandName(const CommandSpec& spec);

// The parsed command line.
struct Invocation {
  GlobalOptions global;
  const CommandSpec* command = nullptr;  // null with --help and no command
  // Flag name -> value ("" for a flag without a value). A repeated flag keeps the
  // last value.
  std::map<std::string, std::string, std::less<>> flags;
  std::vector<std::string> args;  // positional arguments
  std::vector<std::string> exec;  // after "--" for commands with takes_command

  bool Has(std::string_view flag) const { return flags.find(flag) != flags.end(); }
  // The flag's value, or nullopt when absent.
  std::optional<std::string> Flag(std::string_view flag) const;
};

// Parses argv (without argv[0]) against `table`. Errors: kInvalidArgument with a
// usage message ("unknown flag --foo for \"get\"", "get: expected KEY", ...).
// With -h/--help the command may be incomplete (the caller prints the usage).
Result<Invocation> ParseCommandLine(const std::vector<std::string>& argv,
                                    const std::vector<CommandSpec>& table);

// ---- Value parsers (all errors are kInvalidArgument naming `what`) ----------------

// A decimal integer in [min, max], e.g. ParseInt("--rev", "42", 1).
Result<int64_t> ParseInt(std::string_view what, std::string_view text, int64_t min = INT64_MIN,
                         int64_t max = INT64_MAX);
// An unsigned decimal integer (ids).
Result<uint64_t> ParseUint(std::string_view what, std::string_view text);
// A duration: "250ms", "5s", "1.5s", "2m", "1h", or a bare number of seconds
// ("10", "0.5"). Must be > 0 and at most 30 days; at least 1 ms.
Result<std::chrono::milliseconds> ParseDuration(std::string_view what, std::string_view text);
// "host:port[,host:port...]": non-empty hosts, ports 1-65535, no empty items.
Result<std::vector<std::string>> ParseEndpoints(std::string_view text);
// "text" or "json".
Result<OutputFormat> ParseOutputFormat(std::string_view text);
// A comma-separated list of non-empty names ("a,b"); duplicates are rejected.
Result<std::vector<std::string>> ParseNameList(std::string_view what, std::string_view text);

}  // namespace coord::ctl
