// coord::Watch: the events of a key, a prefix or a range, from a revision on,
// surviving reconnects without gaps or duplicates.
//
//   coord::Watch::Options o;
//   o.key = "/cfg/"; o.prefix = true;
//   auto watch = coord::Watch::Create(*client, o,
//       [](const coord::v1::WatchEvent& batch) { ... },   // one revision per call
//       [](const coord::Status& end) { ... });            // the watch ended
//
// Delivery: `on_events` runs on the client's executor, once per revision that has
// matching events (WatchEvent.events non-empty, WatchEvent.revision = that
// revision), in increasing revision order; with progress_notify also with empty
// batches carrying the store's revision. After a reconnect (or a server-side
// cancel of a slow consumer) the watch is re-created on the new connection from
// last_revision() + 1, so nothing is missed and nothing is delivered twice.
//
// The watch ENDS — `on_end` runs once with the reason, and no event follows —
// when the resume revision was compacted (kCompacted: re-list and watch again), the
// catch-up is too long (kTooLarge), the watch is refused (kInvalidArgument...), or
// after Cancel() (no on_end then).
//
// Thread-safety: thread-safe. Cancel() and the destructor wait for a callback in
// progress unless called from it. Must not outlive its Client.
// Status: stable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "coord.pb.h"
#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class WatchState;
}  // namespace client_internal

class Watch {
 public:
  struct Options {
    std::string key;        // required
    std::string range_end;  // [key, range_end); empty: just key (ignored with prefix)
    bool prefix = false;
    // First revision to deliver; 0 = the revisions after "now" (the creation).
    int64_t start_revision = 0;
    bool prev_kv = false;
    bool progress_notify = false;
  };
  using EventCallback = std::function<void(const coord::v1::WatchEvent&)>;
  using EndCallback = std::function<void(const Status&)>;

  // Creates the watch and waits for the first registration (so a bad request or a
  // compacted start_revision is returned here). Errors: kInvalidArgument,
  // kCompacted, kTooLarge, call errors.
  static Result<std::unique_ptr<Watch>> Create(
      Client& client, Options options, EventCallback on_events, EndCallback on_end = {},
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  ~Watch();  // Cancel()
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // Stops the watch (cancels it on the server, best effort). No callback runs after
  // Cancel() returns.
  void Cancel();

  // The highest revision delivered or known complete (events, progress, or the
  // creation revision); the next resume starts at last_revision() + 1.
  int64_t last_revision() const;
  // Times the watch was (re-)created on a connection (1 after Create).
  uint64_t registrations() const;

  // Asks the ensemble how far the watch is: a linearizable read of the watched
  // range on the watch's own connection. `done` runs once on the executor with
  // revision R AFTER on_events has run for every revision <= R that has events:
  // when it runs, everything the watch will ever deliver up to R has been
  // delivered, and R was the ensemble's revision at some moment after the call
  // (so what the handler built reflects the store as of that moment).
  // last_revision() is then at least R. Errors (inconclusive, ask again):
  // kUnavailable when the watch is not registered or moved to another connection
  // before the answer, the read's own errors (kTimeout...). May change.
  void RequestProgress(std::function<void(Result<int64_t>)> done);

 private:
  explicit Watch(std::shared_ptr<client_internal::WatchState> state);
  std::shared_ptr<client_internal::WatchState> state_;
};

}  // namespace coord
