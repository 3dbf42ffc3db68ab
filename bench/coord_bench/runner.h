// Runner: starts the clients of one run on --io-threads io_context threads, waits
// for them, and collects their operation records.
//
// Thread-safety: one controlling thread calls the methods, in the order Start,
// (SetStop / WaitUntil...), Collect.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_client.h"
#include "coord/status.h"

namespace coord::bench {

struct RunConfig {
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
  int clients = 1;
  int io_threads = 1;
  uint32_t timeout_ms = 5000;
  uint64_t seed = 1;  // client ids and per-client random streams derive from it
};

class Runner {
 public:
  Runner(RunConfig config, Workload* workload);
  ~Runner();  // stops the io threads if Collect() was not called
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Starts every client and waits until each has connected once.
  // Errors: kUnavailable when some client could not connect within `timeout`.
  Status Start(Clock::duration timeout);
  // Nanoseconds since the run's epoch (the clock of the OpRecords).
  int64_t Now() const { return shared_.Now(); }
  // Clients issue no request at or after `ns`.
  void SetStop(int64_t ns) { shared_.stop_ns.store(ns); }
  // Waits until every client stopped, or the deadline (ns since epoch). True if all did.
  bool WaitFinished(int64_t deadline_ns);
  // Stops the io threads and returns every client's records, merged.
  std::vector<OpRecord> Collect();
  int64_t connect_failures() const { return shared_.connect_failures.load(); }

 private:
  const RunConfig config_;
  Workload* const workload_;
  RunShared shared_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::shared_ptr<BenchClient>> clients_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace coord::bench
