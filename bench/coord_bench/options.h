// Command line of coord-bench: modes, flags, defaults and validation.
//
// ParseOptions never exits or throws: every bad flag becomes an InvalidArgument
// Status with a one-line message, which main() prints before exiting with 2.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "coord/status.h"

namespace coord::bench {

enum class Mode { kWrite, kRead, kFill, kSessions, kFailover, kLeader, kLock };

struct Options {
  Mode mode = Mode::kWrite;
  bool help = false;
  // "host:port" client addresses of the members (host: an IPv4 literal).
  std::vector<std::string> endpoints{"127.0.0.1:7420"};
  int clients = 1;            // connections, one closed-loop client each
  double warmup_s = 1.0;      // operations in the warmup are not counted
  double duration_s = 5.0;    // length of the measured window
  int value_size = 256;       // bytes per written value
  bool serializable = false;  // read: local (serializable) instead of linearizable reads
  int64_t count = 0;          // fill: number of keys to load (> 0)
  pid_t kill_pid = 0;         // failover: the process to SIGKILL after the warmup
  std::string kill_endpoint;  // failover: its client address (clients avoid it)
  int timeout_ms = 5000;      // Request.timeout_ms; the client gives up 2 s later
  int io_threads = 1;         // io_context threads driving all connections
  int read_keys = 1000;       // read: keys preloaded before the run
};

// The --help text.
extern const char kUsage[];

// Parses argv[1..] (without the program name). The first argument is the mode.
Result<Options> ParseOptions(const std::vector<std::string>& args);

// Splits "host:port" with an IPv4 literal host and a port in [1, 65535].
Status ValidateEndpoint(const std::string& endpoint);

}  // namespace coord::bench
