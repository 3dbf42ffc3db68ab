// Executor: the one serial thread on which every user callback of a Client runs.
//
// Each coord::Client owns one Executor. Callbacks given to Client::CallAsync,
// Session (lost / expired), Watch, ElectionObserver and Election::CampaignAsync are
// posted to it in the order the client received the events they report (so the
// events of one watch arrive in revision order), and run one at a time, never
// concurrently with each other. A callback that blocks delays every later one; a
// callback may call any blocking method of the library EXCEPT waiting for another
// callback of the same client (that would deadlock).
//
// Thread-safety: Post() may be called from any thread.
// Status: stable.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace coord {

class Executor {
 public:
  // Starts the thread.
  Executor();
  // Runs the tasks already posted, then joins the thread. Tasks posted during or
  // after destruction are dropped. Must not be called from the executor thread.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` to run after every task posted before it.
  void Post(std::function<void()> task);

  // True when called from this executor's thread (e.g. from a callback).
  bool InExecutorThread() const;

  // Blocks until every task posted before this call has run (for tests and
  // orderly shutdown). Returns immediately when called from the executor thread.
  void Drain();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  uint64_t posted_ = 0;
  uint64_t done_ = 0;
  std::thread thread_;
};

}  // namespace coord
