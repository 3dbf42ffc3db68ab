// Workloads: what each closed-loop client sends next.
//
// Thread-safety: Next() and Done() are called from the io threads, each client's
// calls in order on one thread; different clients may call concurrently (with
// --io-threads > 1), so shared state is atomic or locked.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <random>
#include <string>

#include "coord.pb.h"

namespace coord::bench {

// Per-client state a workload may use (owned by the client).
struct ClientContext {
  int index = 0;
  std::mt19937_64 rng;
  int64_t issued = 0;    // requests issued by this client so far
  int64_t pending = -1;  // workload-defined tag of the request in flight
  int64_t now_ns = 0;    // set by the client before each Next() (run clock)
  // Set by Next(): the request is bookkeeping (session create, keepalive,
  // cleanup); its success is not an operation. A failure still counts as an error.
  bool untimed = false;
  // Workload state of multi-request operations (lock).
  int64_t session = 0;             // 0: none yet (or it ended)
  int64_t keepalive_due_ns = 0;    // next keepalive at or after this
  int phase = 0;                   // workload-defined
  uint64_t acquire_index = 0;      // the queued acquire awaiting its pushed grant
};

// What a client does after a reply or a pushed message (multi-request operations).
enum class Step {
  kOk,      // the operation succeeded; record it and start the next one
  kFailed,  // the operation failed; record it as an error and start the next one
  kNext,    // the operation continues: send the workload's Next() request now
  kWait,    // the operation continues when a pushed message arrives (OnPush)
  kIgnore,  // (OnPush) not for this operation; keep waiting
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Fills the body of the client's next request. False: the client has nothing
  // more to send and closes its connection.
  virtual bool Next(ClientContext& client, coord::v1::Request* request) = 0;
  // The outcome of the client's last request (before its next Next()).
  virtual void Done(ClientContext& client, bool ok) {
    (void)client;
    (void)ok;
  }
  // The reply to the client's last request. Default: one request per operation.
  virtual Step OnReply(ClientContext& client, const coord::v1::Response& response) {
    (void)client;
    return response.error().code() == coord::v1::OK ? Step::kOk : Step::kFailed;
  }
  // A pushed message while the operation waits (after OnReply returned kWait).
  virtual Step OnPush(ClientContext& client, const coord::v1::ServerMessage& message) {
    (void)client;
    (void)message;
    return Step::kIgnore;
  }
};

// A value of `size` printable bytes, fixed per run (content does not matter).
std::string MakeValue(int size, uint64_t seed);

// write: a put of a new distinct key per operation: PREFIX/<client>/<n>.
class WriteWorkload final : public Workload {
 public:
  WriteWorkload(std::string prefix, std::string value)
      : prefix_(std::move(prefix)), value_(std::move(value)) {}
  bool Next(ClientContext& client, coord::v1::Request* request) override;

 private:
  const std::string prefix_;
  const std::string value_;
};

// read: a range of one random key among PREFIX/0000000000 .. PREFIX/<keys-1>.
class ReadWorkload final : public Workload {
 public:
  ReadWorkload(std::string prefix, int keys, bool serializable)
      : prefix_(std::move(prefix)), keys_(keys), serializable_(serializable) {}
  bool Next(ClientContext& client, coord::v1::Request* request) override;

 private:
  const std::string prefix_;
  const int keys_;
  const bool serializable_;
};

// fill: puts PREFIX/<i> for i in [0, count) once each, shared by all clients; a
// failed put is retried (by the same client, next). Finished() once all succeeded.
// With session_ttl_ms > 0 it creates `count` sessions of that TTL instead (the
// `sessions` mode; a retried create whose outcome was unknown may leave one more).
class FillWorkload final : public Workload {
 public:
  FillWorkload(std::string prefix, int64_t count, std::string value, int64_t session_ttl_ms = 0)
      : prefix_(std::move(prefix)),
        count_(count),
        value_(std::move(value)),
        session_ttl_ms_(session_ttl_ms) {}
  bool Next(ClientContext& client, coord::v1::Request* request) override;
  void Done(ClientContext& client, bool ok) override;
  int64_t succeeded() const { return succeeded_.load(); }
  bool Finished() const { return succeeded_.load() >= count_; }

 private:
  const std::string prefix_;
  const int64_t count_;
  const std::string value_;
  const int64_t session_ttl_ms_;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> succeeded_{0};
  std::mutex mu_;
  std::deque<int64_t> retry_;  // guarded by mu_
};

// lock: per cycle, acquire (waiting) the lock `name`, shared by every client, then
// release it; one operation = acquire sent .. release replied. Each client first
// creates a session of `ttl_ms` and keeps it alive every ttl/3 between cycles
// (untimed). A grant is either the acquire's reply (granted) or the pushed
// LockEvent of that acquire. After a failed cycle the client releases the lock
// (withdrawing a wait or dropping a grant it may hold) before acquiring again.
class LockWorkload final : public Workload {
 public:
  LockWorkload(std::string name, int64_t ttl_ms, int64_t wait_timeout_ms)
      : name_(std::move(name)), ttl_ms_(ttl_ms), wait_timeout_ms_(wait_timeout_ms) {}
  bool Next(ClientContext& client, coord::v1::Request* request) override;
  void Done(ClientContext& client, bool ok) override;
  Step OnReply(ClientContext& client, const coord::v1::Response& response) override;
  Step OnPush(ClientContext& client, const coord::v1::ServerMessage& message) override;

  // ClientContext::phase values.
  static constexpr int kIdle = 0;         // next: a new cycle (or bookkeeping)
  static constexpr int kCreating = 1;     // session create in flight
  static constexpr int kKeepingAlive = 2; // keepalive in flight
  static constexpr int kAcquiring = 3;    // acquire in flight, or waiting for its grant
  static constexpr int kReleasing = 4;    // release (end of the cycle) in flight
  static constexpr int kCleanup = 5;      // after a failure: release before acquiring
  static constexpr int kCleaning = 6;     // that release in flight

 private:
  const std::string name_;
  const int64_t ttl_ms_;
  const int64_t wait_timeout_ms_;
};

// The key of index i under prefix, zero-padded so keys sort by index.
std::string IndexedKey(const std::string& prefix, int64_t i);

}  // namespace coord::bench
