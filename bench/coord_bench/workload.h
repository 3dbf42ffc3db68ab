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
class FillWorkload final : public Workload {
 public:
  FillWorkload(std::string prefix, int64_t count, std::string value)
      : prefix_(std::move(prefix)), count_(count), value_(std::move(value)) {}
  bool Next(ClientContext& client, coord::v1::Request* request) override;
  void Done(ClientContext& client, bool ok) override;
  int64_t succeeded() const { return succeeded_.load(); }
  bool Finished() const { return succeeded_.load() >= count_; }

 private:
  const std::string prefix_;
  const int64_t count_;
  const std::string value_;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> succeeded_{0};
  std::mutex mu_;
  std::deque<int64_t> retry_;  // guarded by mu_
};

// The key of index i under prefix, zero-padded so keys sort by index.
std::string IndexedKey(const std::string& prefix, int64_t i);

}  // namespace coord::bench
