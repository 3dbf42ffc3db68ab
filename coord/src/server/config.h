// coordd's command line and config file (docs/operations.md).
//
// Flags: --name --data-dir --listen-client --listen-peer --initial-cluster
// --cluster-token --tick-ms --election-ticks --log-level --config FILE --help.
// A config file holds `key = value` lines with the flag names without dashes
// (e.g. `listen-client = 127.0.0.1:7420`); `#` starts a comment; blank lines are
// ignored. Flags given on the command line override the file.
#pragma once

#include <string>
#include <vector>

#include "coord/server/server.h"
#include "coord/status.h"

namespace coord::server {

struct CoorddConfig {
  ServerOptions server;
  std::string log_level = "info";
  bool help = false;
};

extern const char kCoorddUsage[];

// Parses NAME=HOST:PORT,... Errors: kInvalidArgument naming the bad item.
Result<std::vector<ClusterMember>> ParseInitialCluster(const std::string& list);

// Applies one setting (flag name without dashes) to `config`.
Status ApplySetting(const std::string& key, const std::string& value, CoorddConfig* config);

// Applies the settings of a config file's text.
Status ApplyConfigText(const std::string& text, CoorddConfig* config);

// Parses argv (reading --config FILE first). Errors: kInvalidArgument with a
// one-line reason.
Result<CoorddConfig> ParseCommandLine(const std::vector<std::string>& args);

}  // namespace coord::server
