// A session for the commands that hold something while they run (lock, elect):
// created with --ttl, kept alive by the client library, and reporting its loss as
// a kLost StopEvent so the main thread can react (stop the child, exit 6).
//
// Thread-safety: main thread only; the loss callback runs on the executor and only
// posts an event.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "context.h"
#include "coord/client/session.h"
#include "exit_codes.h"

namespace coord::ctl {

class SessionHolder {
 public:
  // Creates the session. Errors: the Outcome of the failed create.
  static Result<std::unique_ptr<SessionHolder>> Create(Context& ctx, int64_t ttl_ms);
  // Closes the session unless Close() was called (or it was lost).
  ~SessionHolder();

  coord::Session& session() { return *session_; }
  int64_t id() const { return session_->id(); }

  // Closes the session on the ensemble (its locks and candidacies go away). After
  // this, the library's "lost" notification is expected and not reported.
  Status Close(std::chrono::milliseconds timeout);

  // Runs `wait` (a blocking acquire or campaign under this session) on a worker
  // thread while the main thread handles StopEvents: the first SIGINT/SIGTERM
  // closes the session (close_timeout), which makes the library end `wait`, and is
  // reported in *interrupted_by (0: none). A loss needs nothing: `wait` then fails
  // by itself with kSessionExpired. Returns what `wait` returned.
  Result<int64_t> WaitInterruptibly(const std::function<Result<int64_t>()>& wait,
                                    std::chrono::milliseconds close_timeout, int* interrupted_by);

 private:
  SessionHolder() = default;
  std::shared_ptr<std::atomic<bool>> closing_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<coord::Session> session_;
};

}  // namespace coord::ctl
