#include "stop_events.h"

#include <signal.h>

#include <thread>

namespace coord::ctl {
namespace {

sigset_t StopSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopEvents& StopEvents::Process() {
  // Leaked on purpose: the detached signal thread may still reference it while the
  // process exits.
  static StopEvents* events = new StopEvents();
  return *events;
}

void StopEvents::Post(StopEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
}

StopEvent StopEvents::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !events_.empty(); });
  StopEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<StopEvent> StopEvents::NextFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
  StopEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void BlockStopSignals() {
  const sigset_t set = StopSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void StartSignalThread() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::thread([] {
      const sigset_t set = StopSignalSet();
      while (true) {
        int signo = 0;
        if (sigwait(&set, &signo) != 0) continue;
        StopEvents::Process().Post({StopEvent::Kind::kSignal, signo, 0, {}});
      }
    }).detach();
  });
}

}  // namespace coord::ctl
