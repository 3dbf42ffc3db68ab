// coord::Consumer: one instance of a consumer group of a topic (see topic.h) —
// durable cursor, one active instance per group, at-least-once delivery in
// offset order, batching, retry with back-off and a dead-letter topic.
//
//   coord::Consumer::Options o;
//   o.topic = "/orders/events/";
//   o.group = "inventory";
//   auto consumer = coord::Consumer::Start(*client, o,
//       [&](const coord::v1::TopicRecord& r) { return store.ApplyOnce(r); });
//
// One active instance. Every instance of a group campaigns for the lock
// "/_coord/consumers/" + topic + "/" + group with its own Session (ttl =
// session_ttl); the holder is active, the others wait in the lock's FIFO queue and
// take over when its session ends (a crashed holder: within about session_ttl).
//
// Cursor. The group's cursor (the next offset to read, Topic::CursorKey) moves
// only by a txn that compares BOTH the lock's fencing token (LOCK_TOKEN equal to
// this instance's grant) and the cursor key's mod_revision (unchanged since this
// instance read or wrote it): an instance that lost the lock — paused,
// partitioned, its session expired — can no longer move the cursor, and two
// instances never both advance it. A cursor moved by someone else (an operator
// rewinding the group with topicCommitOffset) is read again and followed. A
// group without a cursor starts at the oldest retained record.
//
// Delivery. The active instance reads up to batch_size records from the cursor,
// calls the handler for each in offset order, then commits the cursor past the
// batch in one write. A crash, a lost lock or Stop() before the commit means the
// batch is delivered again (to this or another instance): at-least-once, so the
// handler must be idempotent (e.g. keyed by record offset or by an id in the
// event). A handler error (or exception) is retried with exponential back-off
// (retry_initial doubling to retry_max, jittered); after max_attempts failures the
// record is appended to the dead-letter topic IN THE SAME TXN that moves the
// cursor past it, so it is never both dropped and not dead-lettered (a batch
// with many dead letters is committed in parts, 64 or 256 KiB of them per txn).
// Records trimmed before they were read are skipped, the cursor moves past the
// gap, and the read is counted (stats().truncated).
//
// Cost of a standby: it renews its lock wait about once a second (an acquire and
// a withdrawal, two small writes), so that Stop() is honoured promptly.
//
// Waiting: a watch on the topic wakes the active instance when an event is
// published; without one it reads every poll_interval.
//
// The handler runs on the consumer's own thread (it may block and may call the
// Client synchronously), one record at a time.
//
// Thread-safety: the methods are thread-safe. Must not outlive its Client. Do not
// destroy it from its handler.
// Status: new; may change.
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
class ConsumerState;
}  // namespace client_internal

class Consumer {
 public:
  using Duration = std::chrono::milliseconds;
  using Handler = std::function<Status(const coord::v1::TopicRecord& record)>;

  struct Options {
    std::string topic;     // required
    std::string group;     // required, without '/'
    int64_t batch_size = 500;  // records per read and per cursor commit (1..10,000)
    int max_attempts = 5;      // handler failures of one record before dead-lettering (>= 1)
    Duration retry_initial{50};
    Duration retry_max{2000};
    // Empty: topic + "dead/" + group + "/".
    std::string dead_letter_topic;
    Duration session_ttl{3000};  // how soon another instance takes over a dead one
    Duration poll_interval{1000};
  };

  struct Stats {
    bool active = false;      // this instance holds the group's lock now
    int64_t token = 0;        // its fencing token (last one when not active)
    int64_t cursor = 0;       // the committed cursor as this instance last knew it
    int64_t head = 0;         // the topic's head at the last read
    int64_t lag = 0;          // head - cursor + 1 (>= 0)
    uint64_t delivered = 0;   // handler successes
    uint64_t handler_failures = 0;
    uint64_t dead_lettered = 0;
    uint64_t batches = 0;     // cursor commits
    uint64_t activations = 0; // times this instance became active
    uint64_t fenced_commits = 0;  // commits refused (lock or cursor changed)
    uint64_t truncated = 0;   // reads that found records trimmed before being read
    Status last_error;        // the last failure of a call or of the handler
  };

  // Validates the options and starts the instance's thread (it campaigns in the
  // background). Errors: kInvalidArgument.
  static Result<std::unique_ptr<Consumer>> Start(Client& client, Options options,
                                                 Handler handler);
  ~Consumer();  // Stop()
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Stops delivering (a batch in progress is not committed), leaves the lock and
  // closes the session, so a standby instance takes over at once. Idempotent.
  void Stop();

  Stats stats() const;
  // Waits until this instance is active (true) or the timeout (false).
  bool WaitActive(Duration timeout) const;
  // Waits until the cursor this instance knows — committed by it, or read from
  // the store when it became active — is > offset (true), or the timeout.
  bool WaitCommitted(int64_t offset, Duration timeout) const;

  const Options& options() const;

 private:
  explicit Consumer(std::shared_ptr<client_internal::ConsumerState> state);
  std::shared_ptr<client_internal::ConsumerState> state_;
};

}  // namespace coord
