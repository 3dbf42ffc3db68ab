// BackgroundWorker: the thread of a long-running client helper (Consumer,
// Reconciler): started once, asked to stop, with pauses and waits that a stop
// cuts short (private to the client).
//
// Pause ends early only for a stop; WaitUntil also for a Wake() (new work).
//
// Thread-safety: Stop, Wake and stopping may be called from any thread, also
// concurrently; Pause and WaitUntil from the worker's own thread. Stop from the
// worker's own thread (a handler) only sets the flag: the thread ends when the
// body returns, and a later Stop from elsewhere joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace coord::client_internal {

class BackgroundWorker {
 public:
  using Duration = std::chrono::milliseconds;

  ~BackgroundWorker() { Stop(); }

  void Start(std::function<void()> body) {
    thread_ = std::thread(std::move(body));
    thread_id_ = thread_.get_id();
  }

  // Sets the stop flag, wakes the thread and joins it. Idempotent.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (std::this_thread::get_id() == thread_id_) return;
    std::lock_guard join(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Ends a WaitUntil in progress early so the thread re-checks its state.
  void Wake() {
    {
      std::lock_guard lock(mu_);
      ++wakes_;
    }
    cv_.notify_all();
  }

  // Sleeps up to `d`; false when stopping (at once or during the pause).
  bool Pause(Duration d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
  }

  // Waits up to `d` for `done()`, a Wake() or a stop. `done` runs under the
  // worker's mutex: keep it to reading atomics.
  void WaitUntil(Duration d, const std::function<bool()>& done) {
    std::unique_lock lock(mu_);
    const uint64_t seen = wakes_;
    cv_.wait_for(lock, d, [&] { return stopping_ || wakes_ != seen || done(); });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t wakes_ = 0;
  std::mutex join_mu_;  // one joiner at a time
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace coord::client_internal
