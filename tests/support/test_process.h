// Running a real program from tests (coordctl, an example service): a child
// process with its stdout and stderr captured by reader threads, waited for with
// deadlines (never sleeps).
//
// The child is SIGKILLed if the test process dies (PR_SET_PDEATHSIG) and by the
// destructor if still running, so a failing test leaves nothing behind.
//
// Thread-safety: one test thread per ChildProcess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace coord::test {

using namespace std::chrono_literals;

struct ChildResult {
  int exit_code = -1;  // exit status, 128 + signal, or -1 when it did not end in time
  std::string out;
  std::string err;
  // The lines of `out` (without the newlines).
  std::vector<std::string> lines() const;
};

class ChildProcess {
 public:
  // Starts the program at `path` with `args` (exactly as given). Fails the
  // calling test (ADD_FAILURE) and returns null if it cannot start.
  static std::unique_ptr<ChildProcess> Start(const std::string& path,
                                             const std::vector<std::string>& args);
  ~ChildProcess();  // SIGKILLs the child if it still runs, joins the threads

  // Waits until stdout holds at least `n` complete lines; false at the deadline.
  bool WaitLines(size_t n, std::chrono::milliseconds timeout = 20s);
  // Waits until `done(lines of stdout so far)` holds; false at the deadline or
  // when the process ended without it holding.
  bool WaitOutput(const std::function<bool(const std::vector<std::string>&)>& done,
                  std::chrono::milliseconds timeout = 20s);
  std::vector<std::string> Lines();
  std::string Err();
  void Signal(int signo);
  // Waits for the exit; returns its status (exit code or 128 + signal), or -1 at
  // the deadline (the child keeps running).
  int Wait(std::chrono::milliseconds timeout = 30s);
  // Wait() plus the complete output (after both pipes reached EOF).
  ChildResult Finish(std::chrono::milliseconds timeout = 30s);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  void ReadLoop(int fd, std::string* into, bool* eof);

  pid_t pid_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, err_;
  bool out_eof_ = false, err_eof_ = false;
  bool exited_ = false;
  int status_ = -1;
  std::thread out_reader_, err_reader_, waiter_;
};

// Runs the program to completion (deadline `timeout`; -1 exit code when it did not end).
ChildResult RunChild(const std::string& path, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = 30s);

}  // namespace coord::test
