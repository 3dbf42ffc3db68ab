#include "runner.h"

#include <random>

namespace coord::bench {

namespace net = boost::asio;

Runner::Runner(RunConfig config, Workload* workload)
    : config_(std::move(config)), workload_(workload) {
  shared_.epoch = Clock::now();
  shared_.notify = [this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  };
}

Runner::~Runner() { (void)Collect(); }

Status Runner::Start(Clock::duration timeout) {
  std::mt19937_64 seeds(config_.seed);
  for (int t = 0; t < config_.io_threads; ++t) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
  }
  for (int i = 0; i < config_.clients; ++i) {
    ClientConfig c;
    c.index = i;
    c.endpoints = config_.endpoints;
    c.first_endpoint = static_cast<size_t>(i);  // round-robin over the endpoints
    c.timeout_ms = config_.timeout_ms;
    c.client_id = seeds() | 1;  // non-zero: zero disables exactly-once
    c.seed = seeds();
    clients_.push_back(std::make_shared<BenchClient>(
        *contexts_[static_cast<size_t>(i) % contexts_.size()], std::move(c), workload_, &shared_));
    clients_.back()->Start();
  }
  for (auto& io : contexts_) {
    threads_.emplace_back([io = io.get()] {
      auto guard = net::make_work_guard(*io);  // idle clients wait on timers, not work
      io->run();
    });
  }
  std::unique_lock lock(mu_);
  const bool all = cv_.wait_for(lock, timeout, [this] {
    return shared_.connected.load() + shared_.finished.load() >= config_.clients;
  });
  if (!all) {
    return Status::Unavailable(std::to_string(config_.clients - shared_.connected.load()) + " of " +
                               std::to_string(config_.clients) +
                               " clients could not connect to any endpoint");
  }
  return Status::Ok();
}

bool Runner::WaitFinished(int64_t deadline_ns) {
  std::unique_lock lock(mu_);
  const auto deadline = shared_.epoch + std::chrono::nanoseconds(deadline_ns);
  return cv_.wait_until(lock, deadline,
                        [this] { return shared_.finished.load() >= config_.clients; });
}

std::vector<OpRecord> Runner::Collect() {
  if (!stopped_) {
    stopped_ = true;
    // Operations still in flight are abandoned: they cannot finish inside the window.
    for (auto& io : contexts_) io->stop();
    for (std::thread& t : threads_) t.join();
  }
  std::vector<OpRecord> all;
  for (const auto& c : clients_) {
    all.insert(all.end(), c->records().begin(), c->records().end());
  }
  return all;
}

}  // namespace coord::bench
