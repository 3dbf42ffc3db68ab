// coord-embedded: one process that embeds a Coord member (Coord::server) and talks
// to it with the client library (Coord::client) — the shape of an application that
// ships its own single-member coordination service, or a test harness.
//
//   coord-embedded [--data-dir DIR] [--name NAME]
//
// It starts a single-member ensemble on free loopback ports, takes a lock with
// std::lock_guard (the five lines an application writes), writes a key guarded by
// nothing but the lock's fencing token, prints what it did, and stops. Exit status
// 0 on success. Built in-tree and, by tests/package, against the installed package.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "coord/client/client.h"
#include "coord/client/lock.h"
#include "coord/client/session.h"
#include "coord/server/server.h"

namespace {

int Fail(const std::string& what, const coord::Status& status) {
  std::fprintf(stderr, "coord-embedded: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  coord::server::ServerOptions options;
  options.name = "embedded";
  bool temporary_dir = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--data-dir" && i + 1 < argc) {
      options.data_dir = argv[++i];
      temporary_dir = false;
    } else if (arg == "--name" && i + 1 < argc) {
      options.name = argv[++i];
    } else {
      std::fprintf(stderr, "usage: coord-embedded [--data-dir DIR] [--name NAME]\n");
      return 2;
    }
  }
  if (temporary_dir) {
    char tmpl[] = "/tmp/coord-embedded-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("coord-embedded: mkdtemp");
      return 1;
    }
    options.data_dir = tmpl;
  }
  // Port 0: the kernel picks free ports; client_address() tells which.
  options.listen_client = "127.0.0.1:0";
  options.listen_peer = "127.0.0.1:0";

  auto server = coord::server::Server::Create(options);
  if (!server.ok()) return Fail("open member", server.status());
  if (coord::Status s = (*server)->Start(); !s.ok()) return Fail("start member", s);
  std::printf("member %s serving on %s\n", options.name.c_str(),
              (*server)->client_address().c_str());

  int status = 0;
  {
    // The five lines of the README, with their error checks.
    auto client = coord::Client::Create({.endpoints = (*server)->client_address()});
    if (!client.ok()) return Fail("client", client.status());
    // A fresh single member elects itself within an election timeout; the
    // session's create waits for it (default deadline 5 s).
    auto session = coord::Session::Create(**client, {});
    if (!session.ok()) return Fail("session", session.status());
    coord::Lock lock(**session, "/embedded/lock");
    {
      std::lock_guard guard(lock);
      auto put = (*client)->Put("/embedded/owner", options.name);
      if (!put.ok()) {
        status = Fail("put", put.status());
      } else {
        std::printf("locked /embedded/lock with token %lld; wrote /embedded/owner\n",
                    static_cast<long long>(lock.token()));
      }
    }
    std::printf("released /embedded/lock\n");
  }
  (*server)->Stop();
  if (temporary_dir) std::filesystem::remove_all(options.data_dir);
  return status;
}
