// coordd: one Coord member. See docs/operations.md and `coordd --help`.
//
// Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 for a usage or
// configuration error, 2 when the member cannot start (data directory of another
// member or cluster, locked by a running coordd, address in use, corrupt data).
// Errors are one line on stderr.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "coord/server/server.h"
#include "server/config.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto config = coord::server::ParseCommandLine(args);
  if (!config.ok()) {
    std::fprintf(stderr, "coordd: %s\n", config.status().message().c_str());
    return 1;
  }
  if (config->help) {
    std::fputs(coord::server::kCoorddUsage, stdout);
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  // Every line reaches a redirected stdout (a file, the journal) when it is logged,
  // not when a 4 KB buffer fills: an operator reading the log sees what just happened.
  spdlog::flush_on(spdlog::level::trace);

  // Block the signals before any thread starts, so only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = coord::server::Server::Create(config->server);
  if (!server.ok()) {
    std::fprintf(stderr, "coordd: %s\n", server.status().ToString().c_str());
    return 2;
  }
  coord::Status s = (*server)->Start();
  if (!s.ok()) {
    std::fprintf(stderr, "coordd: %s\n", s.ToString().c_str());
    return 2;
  }
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: read the TLS files again; on failure the old ones stay in use.
    const coord::Status reloaded = (*server)->ReloadTls();
    if (reloaded.ok()) {
      spdlog::info("coordd: SIGHUP: TLS certificates and keys reloaded");
    } else {
      spdlog::error("coordd: SIGHUP: TLS files not reloaded, keeping the old ones: {}",
                    reloaded.ToString());
    }
  }
  spdlog::info("coordd: signal {}, shutting down", sig);
  (*server)->Stop();
  return 0;
}
