// tls-bench: what TLS costs a client of a running ensemble.
//
//   tls_bench --endpoints H:P,... [--cacert FILE] [--connections N] [--clients C]
//             [--seconds S]
//
// 1. Connection setup: N times, one after the other, a new coord::Client
//    connects (TCP, the TLS handshake when --cacert is given, the WebSocket
//    upgrade) and is destroyed; prints connections/s.
// 2. Writes: C clients (one connection each) put 100-byte values in a closed
//    loop for S seconds; prints writes/s.
// Output: one line per figure. Exit 0 on success, 1 on failure, 2 on bad arguments.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "coord/client/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Args {
  std::string endpoints = "127.0.0.1:7420";
  std::string cacert;
  int connections = 200;
  int clients = 16;
  double seconds = 5;
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    const char* v = argv[i + 1];
    if (f == "--endpoints") a->endpoints = v;
    else if (f == "--cacert") a->cacert = v;
    else if (f == "--connections") a->connections = std::atoi(v);
    else if (f == "--clients") a->clients = std::atoi(v);
    else if (f == "--seconds") a->seconds = std::atof(v);
    else return false;
  }
  return argc % 2 == 1 && a->connections > 0 && a->clients > 0 && a->seconds > 0;
}

std::unique_ptr<coord::Client> Connect(const Args& a) {
  coord::ClientOptions o;
  o.endpoints = a.endpoints;
  o.ca_file = a.cacert;
  auto c = coord::Client::Create(o);
  if (!c.ok() || !(*c)->WaitConnected(5s).ok()) return nullptr;
  return std::move(*c);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr, "usage: tls_bench [--endpoints E] [--cacert F] [--connections N] "
                         "[--clients C] [--seconds S]\n");
    return 2;
  }
  const char* mode = a.cacert.empty() ? "plain" : "tls";

  const auto start = Clock::now();
  for (int i = 0; i < a.connections; ++i) {
    if (Connect(a) == nullptr) {
      std::fprintf(stderr, "tls_bench: connection %d failed\n", i);
      return 1;
    }
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%s connection setup: %.0f connections/s (%d, one at a time)\n", mode,
              a.connections / setup_s, a.connections);

  std::vector<std::unique_ptr<coord::Client>> clients;
  for (int i = 0; i < a.clients; ++i) {
    clients.push_back(Connect(a));
    if (clients.back() == nullptr) return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0}, failures{0};
  const std::string value(100, 'v');
  std::vector<std::thread> threads;
  for (int i = 0; i < a.clients; ++i) {
    threads.emplace_back([&, i] {
      const std::string key = "/bench/tls/" + std::to_string(i);
      while (!stop.load()) {
        (clients[i]->Put(key, value).ok() ? writes : failures).fetch_add(1);
      }
    });
  }
  const auto begin = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));  // the measured interval
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  std::printf("%s writes: %.0f writes/s (%d clients, %.1f s, %llu failed)\n", mode,
              writes.load() / elapsed, a.clients, elapsed,
              static_cast<unsigned long long>(failures.load()));
  return failures.load() == 0 ? 0 : 1;
}
