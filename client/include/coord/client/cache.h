// coord::Cache: a local mirror of one prefix (weak consistency, the informer
// pattern). Reads are answered from memory, with the revision they reflect and
// how fresh that is; a read can demand a bound and get it.
//
//   coord::Cache::Options o;
//   o.prefix = "/likes/";
//   coord::Cache::Handlers h;
//   h.on_update = [](const coord::v1::KeyValue& before, const coord::v1::KeyValue& now) { ... };
//   auto cache = coord::Cache::Create(*client, o, h);      // lists, then watches
//   auto n = (*cache)->Get("/likes/post-1");                 // local, maybe stale
//   coord::Cache::ReadOptions fresh;
//   fresh.max_staleness = std::chrono::milliseconds(100);    // current within 100 ms
//   auto m = (*cache)->Get("/likes/post-1", fresh);
//   auto mine = (*cache)->Get("/likes/post-1", {.min_revision = put->revision()});
//
// Mirroring. Create lists the prefix at one revision R (paged, every page at R),
// then watches it from R + 1, so every change after the list arrives once and in
// order; the watch resumes across reconnects and failover without gaps. When the
// watch cannot resume (its revision was compacted, the catch-up is too long), and
// every resync_interval, the cache lists again and reports the difference to the
// handlers as ordinary changes: a handler never misses a delete.
//
// Freshness. `revision()` is the store revision the contents reflect. The cache
// is CONFIRMED at time T when the ensemble, asked at T, said it was at revision
// R and the cache has applied everything up to R (Watch::RequestProgress: a
// linearizable read on the watch's connection, so a lagging or partitioned
// member cannot vouch for itself). `staleness()` = now - the last confirmation:
// the contents were current at most that long ago. The cache confirms itself
// every confirm_interval, and on demand for a read that needs it.
//
// Reads (Get, List) are local. With ReadOptions:
//   * min_revision: wait until the cache reflects at least that revision (read
//     your writes: pass the revision of your own write's reply);
//   * max_staleness: serve only if confirmed within that bound, else confirm now
//     and wait for it;
//   * on_stale = kReadThrough: instead of waiting, answer with a linearizable
//     read from the ensemble (from_cache = false in the result).
// Waiting ends at the read's timeout with kTimeout. From an executor callback a
// read cannot wait (the confirmation runs on the executor): it reads through.
//
// Handlers run on the client's executor, in revision order, after the contents
// changed (a Get from a handler sees the change).
//
// Limits: more than max_keys keys or max_bytes of keys and values stops the
// cache — every read then fails with kTooLarge naming the limit, and
// `status()` says why. Other failures of a re-list are retried with back-off;
// reads meanwhile are served (and their staleness grows).
//
// Thread-safety: thread-safe; reads take a shared lock, so readers on many
// threads do not wait for each other. Must not outlive its Client. Do not destroy
// it from one of its handlers.
// Status: new; may change.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coord.pb.h"
#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class CacheState;
}  // namespace client_internal

class Cache {
 public:
  using Duration = std::chrono::milliseconds;

  struct Options {
    std::string prefix;  // required
    size_t max_keys = 1'000'000;
    size_t max_bytes = size_t{256} << 20;  // keys + values
    Duration confirm_interval{1000};       // 0: only when a read asks
    Duration resync_interval{0};           // 0: re-list only when the watch cannot resume
    Duration list_timeout{10'000};         // one page of a list
    int64_t page_size = 1000;              // keys per page of a list
  };
  struct Handlers {
    std::function<void(const coord::v1::KeyValue&)> on_add;
    std::function<void(const coord::v1::KeyValue& before, const coord::v1::KeyValue& now)>
        on_update;
    std::function<void(const coord::v1::KeyValue& last)> on_delete;
  };
  enum class OnStale { kWait, kReadThrough };
  struct ReadOptions {
    int64_t min_revision = 0;
    std::optional<Duration> max_staleness;
    OnStale on_stale = OnStale::kWait;
    Duration timeout{0};  // 0: the client's default_timeout
  };
  template <typename T>
  struct Read {
    T value;
    int64_t revision = 0;   // the store revision the answer reflects
    Duration staleness{0};  // how long ago it was last confirmed current (0: read through)
    bool from_cache = true;
  };
  struct Stats {
    int64_t revision = 0;
    Duration staleness{0};  // Duration::max() before the first confirmation
    size_t keys = 0;
    size_t bytes = 0;
    uint64_t events = 0;          // changes applied from the watch
    uint64_t relists = 0;         // lists after the first
    uint64_t relist_changes = 0;  // changes found by them (missed by nothing else)
    uint64_t confirmations = 0;
    uint64_t read_throughs = 0;
  };

  // Lists the prefix and starts watching it; returns once the contents are
  // loaded (on_add is posted for every key listed, before any later change). Errors:
  // kInvalidArgument (empty prefix, bad limits), kTooLarge (over a limit), call
  // errors of the list.
  static Result<std::unique_ptr<Cache>> Create(Client& client, Options options,
                                               Handlers handlers = {});
  ~Cache();  // stops the watch; no handler runs after it returns
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // `key` must be under the prefix (else kInvalidArgument). Absent: nullopt.
  Result<Read<std::optional<coord::v1::KeyValue>>> Get(const std::string& key,
                                                       const ReadOptions& options);
  Result<Read<std::optional<coord::v1::KeyValue>>> Get(const std::string& key);
  // Every key starting with `prefix` (under the cache's prefix), in key order.
  Result<Read<std::vector<coord::v1::KeyValue>>> List(const std::string& prefix,
                                                      const ReadOptions& options);
  Result<Read<std::vector<coord::v1::KeyValue>>> List(const std::string& prefix);

  int64_t revision() const;
  Duration staleness() const;
  // OK while mirroring; the reason once stopped (kTooLarge).
  Status status() const;
  Stats stats() const;

 private:
  explicit Cache(std::shared_ptr<client_internal::CacheState> state);
  std::shared_ptr<client_internal::CacheState> state_;
};

}  // namespace coord
