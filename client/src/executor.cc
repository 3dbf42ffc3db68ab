#include "coord/client/executor.h"

namespace coord {

Executor::Executor() : thread_([this] { Run(); }) {}

Executor::~Executor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Executor::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
    ++posted_;
  }
  cv_.notify_all();
}

bool Executor::InExecutorThread() const { return std::this_thread::get_id() == thread_.get_id(); }

void Executor::Drain() {
  if (InExecutorThread()) return;
  std::unique_lock lock(mu_);
  const uint64_t target = posted_;
  cv_.wait(lock, [&] { return done_ >= target; });
}

void Executor::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
    // On stop, the tasks already queued still run (the destructor's contract).
    if (tasks_.empty()) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // destroy captures outside the lock, before counting it done
    lock.lock();
    ++done_;
    cv_.notify_all();
  }
}

}  // namespace coord
