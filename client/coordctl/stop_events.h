// What ends coordctl's long-running commands (watch, lock, elect): SIGINT/SIGTERM,
// an event count reached, a lost session, a child that exited, an error in a
// callback. They all arrive as StopEvents on one process-wide queue that the main
// thread waits on; no busy loops, no sleeps.
//
// Signals: BlockStopSignals() must run first in main(), before any thread exists,
// so every thread inherits the mask and SIGINT/SIGTERM are only ever received by
// the dedicated thread that StartSignalThread() starts (sigwait). That thread posts
// a StopEvent for each signal; it never touches anything else, so nothing runs in
// signal-handler context. Children spawned by coordctl get the default mask and
// dispositions back (child_process.h).
//
// Thread-safety: StopEvents is thread-safe; the functions are called from main.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "exit_codes.h"

namespace coord::ctl {

struct StopEvent {
  enum class Kind {
    kSignal,       // SIGINT or SIGTERM arrived (signo)
    kReady,        // the step the command waited for finished (outcome: ok or why not)
    kLost,         // the command's session was lost (lock / elect)
    kDone,         // the command is finished (outcome)
    kChildExited,  // the command's child exited (child_status: exit code or 128+signal)
  };
  Kind kind = Kind::kDone;
  int signo = 0;
  int child_status = 0;
  Outcome outcome;
};

class StopEvents {
 public:
  // The queue of this process (the signal thread posts to it).
  static StopEvents& Process();

  void Post(StopEvent event);
  // Shorthands.
  void Done(Outcome outcome) { Post({StopEvent::Kind::kDone, 0, 0, std::move(outcome)}); }
  void Ready(Outcome outcome) { Post({StopEvent::Kind::kReady, 0, 0, std::move(outcome)}); }
  void Lost() { Post({StopEvent::Kind::kLost, 0, 0, {}}); }

  // Blocks until an event is available and removes it.
  StopEvent Next();
  // The same with a deadline: nullopt when nothing arrived in time.
  std::optional<StopEvent> NextFor(std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StopEvent> events_;
};

// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread created
// after). Call first thing in main().
void BlockStopSignals();

// Starts the (detached) thread that turns SIGINT/SIGTERM into kSignal events on
// StopEvents::Process(). Idempotent.
void StartSignalThread();

}  // namespace coord::ctl
