#include "coord/client/cache.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "coord/client/watch.h"

namespace coord {
namespace client_internal {

using coord::v1::KeyValue;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRelistBackoffInitial = std::chrono::milliseconds(100);
constexpr auto kRelistBackoffMax = std::chrono::milliseconds(5000);

// The smallest key above every key with `prefix`, when it is valid UTF-8 on its
// own (the last byte is ASCII below 0x7f); nullopt otherwise (listed unpaged).
std::optional<std::string> PrefixEnd(const std::string& prefix) {
  if (prefix.empty()) return std::nullopt;
  const auto last = static_cast<unsigned char>(prefix.back());
  if (last >= 0x7e) return std::nullopt;
  std::string end = prefix;
  end.back() = static_cast<char>(last + 1);
  return end;
}

size_t Footprint(const KeyValue& kv) { return kv.key().size() + kv.value().size(); }

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

class CacheState : public std::enable_shared_from_this<CacheState> {
 public:
  using Duration = Cache::Duration;
  struct Change {
    std::optional<KeyValue> before;
    std::optional<KeyValue> now;
  };

  CacheState(Client& client, Cache::Options options, Cache::Handlers handlers)
      : client_(client),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        prefix_end_(PrefixEnd(options_.prefix)) {}

  // The first list, on the caller's thread, then the worker.
  Status Start() {
    Status s = Relist();
    if (!s.ok()) return s;
    worker_ = std::thread([this] { Work(); });
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard lock(wait_mu_);
      stopping_ = true;
    }
    wait_cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    watch_.reset();              // no watch callback runs after this
    std::lock_guard cb(cb_mu_);  // waits for a handler in progress
    closed_ = true;
  }

  // ---- reads --------------------------------------------------------------------

  // A read: `local` (under the shared data lock) once the bounds of `ro` hold;
  // else, when it must not wait, the linearizable `through` range, its reply
  // turned into T by `from_range`.
  template <typename T, typename Local, typename FromRange>
  Result<Cache::Read<T>> Serve(const Cache::ReadOptions& ro, Local local,
                               coord::v1::RangeRequest through, FromRange from_range) {
    const auto start = Clock::now();
    const auto timeout = ro.timeout.count() > 0 ? ro.timeout : client_.options().default_timeout;
    const auto deadline = start + timeout;
    // The common case (no bound, or one already met) takes no exclusive lock:
    // readers on many threads share data_mu_ only.
    if (!halted_.load() && RevisionReached(ro) && FreshEnough(ro, start)) {
      return ServeLocal<T>(local);
    }
    std::unique_lock lock(wait_mu_);
    while (true) {
      if (!stopped_.ok()) return stopped_;
      const bool fresh_enough = FreshEnough(ro, start);
      if (RevisionReached(ro) && fresh_enough) break;
      if (ro.on_stale == Cache::OnStale::kReadThrough || client_.executor().InExecutorThread()) {
        lock.unlock();
        read_throughs_.fetch_add(1);
        auto got = client_.Range(through, ToMillis(deadline - Clock::now()));
        if (!got.ok()) return got.status();
        Cache::Read<T> out;
        out.value = from_range(got->range);
        out.revision = got->header.revision();
        out.from_cache = false;
        return out;
      }
      if (!fresh_enough && !confirm_requested_) {
        confirm_requested_ = true;  // the worker asks the ensemble
        wait_cv_.notify_all();
      }
      if (wait_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        return Status::Timeout(!RevisionReached(ro)
                                   ? "the cache did not reach revision " +
                                         std::to_string(ro.min_revision) + " (it is at " +
                                         std::to_string(revision_.load()) + ") before the deadline"
                                   : "the cache could not be confirmed current before the "
                                     "deadline");
      }
    }
    lock.unlock();
    return ServeLocal<T>(local);
  }

  // The answer from the contents, under the shared lock.
  template <typename T, typename Local>
  Cache::Read<T> ServeLocal(Local& local) {
    Cache::Read<T> out;
    out.staleness = staleness();
    std::shared_lock data(data_mu_);
    out.value = local();
    out.revision = data_revision_;
    return out;
  }

  bool RevisionReached(const Cache::ReadOptions& ro) const {
    return revision_.load() >= ro.min_revision;
  }
  // Confirmed within the bound, or by a confirmation asked after the read began.
  bool FreshEnough(const Cache::ReadOptions& ro, Clock::time_point start) const {
    if (!ro.max_staleness.has_value()) return true;
    const Clock::time_point confirmed = confirmed_at_.load();
    return confirmed >= start || Clock::now() - confirmed <= *ro.max_staleness;
  }

  Result<Cache::Read<std::optional<KeyValue>>> Get(const std::string& key,
                                                   const Cache::ReadOptions& ro) {
    if (Status s = CheckUnderPrefix("key", key); !s.ok()) return s;
    coord::v1::RangeRequest through;
    through.set_key(key);
    return Serve<std::optional<KeyValue>>(
        ro,
        [&]() -> std::optional<KeyValue> {
          auto it = kvs_.find(key);
          if (it == kvs_.end()) return std::nullopt;
          return it->second;
        },
        through,
        [](const coord::v1::RangeResponse& r) -> std::optional<KeyValue> {
          if (r.kvs_size() == 0) return std::nullopt;
          return r.kvs(0);
        });
  }

  Result<Cache::Read<std::vector<KeyValue>>> List(const std::string& prefix,
                                                  const Cache::ReadOptions& ro) {
    if (Status s = CheckUnderPrefix("prefix", prefix); !s.ok()) return s;
    coord::v1::RangeRequest through;
    through.set_key(prefix);
    through.set_prefix(true);
    return Serve<std::vector<KeyValue>>(
        ro,
        [&] {
          std::vector<KeyValue> out;
          for (auto it = kvs_.lower_bound(prefix); it != kvs_.end() && HasPrefix(it->first, prefix);
               ++it) {
            out.push_back(it->second);
          }
          return out;
        },
        through,
        [](const coord::v1::RangeResponse& r) {
          return std::vector<KeyValue>(r.kvs().begin(), r.kvs().end());
        });
  }

  int64_t revision() const { return revision_.load(); }
  Duration staleness() const {
    const Clock::time_point confirmed = confirmed_at_.load();
    if (confirmed == Clock::time_point::min()) return Duration::max();
    return std::chrono::duration_cast<Duration>(Clock::now() - confirmed);
  }
  Status status() const {
    std::lock_guard lock(wait_mu_);
    return stopped_;
  }
  Cache::Stats stats() const {
    Cache::Stats s;
    {
      std::lock_guard lock(wait_mu_);
      s.revision = revision_.load();
      s.staleness = staleness();
      s.relists = relists_;
      s.relist_changes = relist_changes_;
      s.confirmations = confirmations_;
    }
    {
      std::shared_lock data(data_mu_);
      s.keys = kvs_.size();
      s.bytes = bytes_;
    }
    s.events = events_.load();
    s.read_throughs = read_throughs_.load();
    return s;
  }

 private:
  static Duration ToMillis(Clock::duration d) {
    return std::max(Duration(1), std::chrono::duration_cast<Duration>(d));
  }

  Status CheckUnderPrefix(const char* what, const std::string& s) const {
    if (HasPrefix(s, options_.prefix)) return Status::Ok();
    return Status::InvalidArgument(std::string(what) + " '" + s +
                                   "' is not under the cache's prefix '" + options_.prefix + "'");
  }

  // Writers of revision_ and confirmed_at_ hold wait_mu_ (so no waiter misses a
  // change); readers need no lock. Both only grow.
  void RaiseRevisionLocked(int64_t r) {
    if (r > revision_.load()) revision_.store(r);
  }
  void RaiseConfirmedLocked(Clock::time_point t) {
    if (t > confirmed_at_.load()) confirmed_at_.store(t);
  }

  Status OverLimit(size_t keys, size_t bytes) const {
    if (keys > options_.max_keys) {
      return Status::TooLarge("the prefix '" + options_.prefix + "' holds more than max_keys = " +
                              std::to_string(options_.max_keys) + " keys; the cache stopped");
    }
    if (bytes > options_.max_bytes) {
      return Status::TooLarge("the prefix '" + options_.prefix + "' holds more than max_bytes = " +
                              std::to_string(options_.max_bytes) + " bytes; the cache stopped");
    }
    return Status::Ok();
  }

  void StopWith(const Status& why) {
    {
      std::lock_guard lock(wait_mu_);
      stopped_ = why;
      halted_.store(true);
    }
    wait_cv_.notify_all();
  }

  // Lists the prefix at one revision: the linearizable first page names R, every
  // later page is read at R. Compaction of R mid-list starts over.
  Result<std::map<std::string, KeyValue>> ListAll(int64_t* revision) {
    while (true) {
      std::map<std::string, KeyValue> out;
      size_t bytes = 0;
      coord::v1::RangeRequest r;
      r.set_key(options_.prefix);
      if (prefix_end_) {
        r.set_range_end(*prefix_end_);
        r.set_limit(options_.page_size);
      } else {
        r.set_prefix(true);
      }
      int64_t at = 0;
      bool restart = false;
      while (true) {
        auto page = client_.Range(r, options_.list_timeout);
        if (!page.ok() && page.status().code() == StatusCode::kCompacted && at != 0) {
          restart = true;
          break;
        }
        if (!page.ok()) return page.status();
        if (at == 0) at = page->header.revision();
        for (const KeyValue& kv : page->range.kvs()) {
          bytes += Footprint(kv);
          out[kv.key()] = kv;
        }
        Status limit = OverLimit(out.size(), bytes);
        if (!limit.ok()) return limit;
        if (!page->range.more() || page->range.kvs_size() == 0) break;
        r.set_key(page->range.kvs(page->range.kvs_size() - 1).key() + std::string(1, '\0'));
        r.set_revision(at);
      }
      if (restart) continue;
      *revision = at;
      return out;
    }
  }

  // Relists; a list whose next revision was compacted before the watch began
  // (a compaction right after the list) is listed again.
  Status Relist() {
    Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      s = ListAndWatch();
      if (s.code() != StatusCode::kCompacted) break;
    }
    return s;
  }

  // Replaces the contents by a fresh list and watches from after it; tells the
  // handlers the difference.
  Status ListAndWatch() {
    watch_.reset();  // the old watch delivers nothing after this
    const uint64_t generation = ++generation_;
    const auto asked = Clock::now();
    int64_t at = 0;
    auto listed = ListAll(&at);
    if (!listed.ok()) {
      if (listed.status().code() == StatusCode::kTooLarge) StopWith(listed.status());
      return listed.status();
    }
    std::vector<Change> changes;
    size_t bytes = 0;
    for (const auto& [k, kv] : *listed) bytes += Footprint(kv);
    {
      std::unique_lock data(data_mu_);
      auto old_it = kvs_.begin();
      auto new_it = listed->begin();
      while (old_it != kvs_.end() || new_it != listed->end()) {
        if (new_it == listed->end() || (old_it != kvs_.end() && old_it->first < new_it->first)) {
          changes.push_back(Change{old_it->second, std::nullopt});
          ++old_it;
        } else if (old_it == kvs_.end() || new_it->first < old_it->first) {
          changes.push_back(Change{std::nullopt, new_it->second});
          ++new_it;
        } else {
          if (old_it->second.mod_revision() != new_it->second.mod_revision()) {
            changes.push_back(Change{old_it->second, new_it->second});
          }
          ++old_it;
          ++new_it;
        }
      }
      kvs_ = std::move(*listed);
      bytes_ = bytes;
      data_revision_ = at;
    }
    {
      std::lock_guard lock(wait_mu_);
      const bool first = confirmed_at_.load() == Clock::time_point::min();
      if (!first) {
        ++relists_;
        relist_changes_ += changes.size();
      }
      RaiseRevisionLocked(at);  // a linearizable list is never behind what we had
      RaiseConfirmedLocked(asked);
    }
    wait_cv_.notify_all();
    PostChanges(std::move(changes));

    Watch::Options wo;
    wo.key = options_.prefix;
    wo.prefix = true;
    wo.start_revision = at + 1;
    wo.progress_notify = true;
    std::weak_ptr<CacheState> weak = weak_from_this();
    auto watch = Watch::Create(
        client_, wo,
        [weak, generation](const coord::v1::WatchEvent& batch) {
          if (auto s = weak.lock()) s->OnEvents(batch, generation);
        },
        [weak](const Status& why) {
          if (auto s = weak.lock()) s->RequestRelist(why);
        },
        options_.list_timeout);
    if (!watch.ok()) return watch.status();
    watch_ = std::move(*watch);
    return Status::Ok();
  }

  // The executor: one revision of changes (or a progress notification).
  void OnEvents(const coord::v1::WatchEvent& batch, uint64_t generation) {
    std::vector<Change> changes;
    Status over;
    {
      std::unique_lock data(data_mu_);
      if (generation != generation_ || !status().ok()) return;
      for (const coord::v1::Event& e : batch.events()) {
        auto it = kvs_.find(e.kv().key());
        Change c;
        if (it != kvs_.end()) c.before = it->second;
        if (e.type() == coord::v1::Event::DELETE) {
          if (it == kvs_.end()) continue;
          bytes_ -= Footprint(it->second);
          kvs_.erase(it);
        } else {
          c.now = e.kv();
          if (it != kvs_.end()) {
            bytes_ -= Footprint(it->second);
            it->second = e.kv();
          } else {
            kvs_.emplace(e.kv().key(), e.kv());
          }
          bytes_ += Footprint(e.kv());
        }
        changes.push_back(std::move(c));
      }
      data_revision_ = std::max(data_revision_, batch.revision());
      over = OverLimit(kvs_.size(), bytes_);
    }
    events_.fetch_add(changes.size());
    {
      std::lock_guard lock(wait_mu_);
      RaiseRevisionLocked(batch.revision());
    }
    wait_cv_.notify_all();
    if (!over.ok()) StopWith(over);
    RunHandlers(changes);
  }

  void RequestRelist(const Status& why) {
    (void)why;  // compacted or too long a catch-up: a list is the way back
    {
      std::lock_guard lock(wait_mu_);
      relist_requested_ = true;
    }
    wait_cv_.notify_all();
  }

  void PostChanges(std::vector<Change> changes) {
    if (changes.empty()) return;
    std::weak_ptr<CacheState> weak = weak_from_this();
    client_.executor().Post([weak, changes = std::move(changes)] {
      if (auto s = weak.lock()) s->RunHandlers(changes);
    });
  }

  void RunHandlers(const std::vector<Change>& changes) {
    std::lock_guard cb(cb_mu_);
    if (closed_) return;
    for (const Change& c : changes) {
      if (c.before && c.now) {
        if (handlers_.on_update) handlers_.on_update(*c.before, *c.now);
      } else if (c.now) {
        if (handlers_.on_add) handlers_.on_add(*c.now);
      } else if (c.before) {
        if (handlers_.on_delete) handlers_.on_delete(*c.before);
      }
    }
  }

  // The worker: re-lists, confirms, resyncs.
  void Work() {
    auto backoff = kRelistBackoffInitial;
    auto next_confirm = Clock::now() + options_.confirm_interval;
    auto next_resync = Clock::now() + options_.resync_interval;
    std::unique_lock lock(wait_mu_);
    while (!stopping_) {
      const auto now = Clock::now();
      if (!stopped_.ok()) {
        // Over a limit: stop mirroring and give the memory back.
        lock.unlock();
        watch_.reset();
        {
          std::unique_lock data(data_mu_);
          kvs_.clear();
          bytes_ = 0;
        }
        lock.lock();
        wait_cv_.wait(lock, [&] { return stopping_; });
        break;
      }
      if (options_.resync_interval.count() > 0 && now >= next_resync) {
        relist_requested_ = true;
        next_resync = now + options_.resync_interval;
      }
      if (relist_requested_) {
        relist_requested_ = false;
        lock.unlock();
        const Status s = Relist();
        lock.lock();
        if (!s.ok() && stopped_.ok()) {
          relist_requested_ = true;  // try again after a pause
          wait_cv_.wait_for(lock, backoff, [&] { return stopping_; });
          backoff = std::min(backoff * 2, std::chrono::duration_cast<Duration>(kRelistBackoffMax));
        } else {
          backoff = kRelistBackoffInitial;
        }
        continue;
      }
      const bool periodic = options_.confirm_interval.count() > 0 && now >= next_confirm;
      if ((confirm_requested_ || periodic) && !confirm_in_flight_ && watch_) {
        confirm_requested_ = false;
        confirm_in_flight_ = true;
        next_confirm = now + options_.confirm_interval;
        StartConfirm(now);
        continue;
      }
      auto until = now + std::chrono::seconds(1);
      if (options_.confirm_interval.count() > 0) until = std::min(until, next_confirm);
      if (options_.resync_interval.count() > 0) until = std::min(until, next_resync);
      wait_cv_.wait_until(lock, until);
    }
  }

  // Worker, wait_mu_ held.
  void StartConfirm(Clock::time_point asked) {
    const uint64_t generation = generation_;
    std::weak_ptr<CacheState> weak = weak_from_this();
    watch_->RequestProgress([weak, generation, asked](Result<int64_t> r) {
      auto s = weak.lock();
      if (!s) return;
      {
        std::lock_guard lock(s->wait_mu_);
        s->confirm_in_flight_ = false;
        if (r.ok() && generation == s->generation_) {
          // Every event up to *r has been applied (RequestProgress's contract).
          s->RaiseRevisionLocked(*r);
          s->RaiseConfirmedLocked(asked);
          ++s->confirmations_;
        }  // else inconclusive: a waiting reader asks again when woken
      }
      {
        std::unique_lock data(s->data_mu_);
        if (r.ok() && generation == s->generation_) {
          s->data_revision_ = std::max(s->data_revision_, *r);
        }
      }
      s->wait_cv_.notify_all();
    });
  }

  Client& client_;
  const Cache::Options options_;
  const Cache::Handlers handlers_;
  const std::optional<std::string> prefix_end_;
  std::thread worker_;
  std::unique_ptr<Watch> watch_;  // the worker's (and Start's, before the worker)

  // The contents. generation_ changes (under it) at every re-list.
  mutable std::shared_mutex data_mu_;
  std::map<std::string, KeyValue> kvs_;
  size_t bytes_ = 0;
  int64_t data_revision_ = 0;
  std::atomic<uint64_t> generation_{0};

  // Freshness and the worker's requests.
  mutable std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::atomic<int64_t> revision_{0};
  std::atomic<Clock::time_point> confirmed_at_{Clock::time_point::min()};
  Status stopped_;
  std::atomic<bool> halted_{false};  // stopped_ is not OK (read without the lock)
  bool stopping_ = false;
  bool relist_requested_ = false;
  bool confirm_requested_ = false;
  bool confirm_in_flight_ = false;
  uint64_t relists_ = 0;
  uint64_t relist_changes_ = 0;
  uint64_t confirmations_ = 0;
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> read_throughs_{0};

  std::mutex cb_mu_;  // held while handlers run
  bool closed_ = false;
};

}  // namespace client_internal

Result<std::unique_ptr<Cache>> Cache::Create(Client& client, Options options, Handlers handlers) {
  if (options.prefix.empty()) return Status::InvalidArgument("cache prefix must not be empty");
  if (options.max_keys == 0 || options.max_bytes == 0 || options.page_size <= 0) {
    return Status::InvalidArgument("max_keys, max_bytes and page_size must be positive");
  }
  auto state = std::make_shared<client_internal::CacheState>(client, std::move(options),
                                                             std::move(handlers));
  Status s = state->Start();
  if (!s.ok()) {
    state->Stop();
    return s;
  }
  return std::unique_ptr<Cache>(new Cache(std::move(state)));
}

Cache::Cache(std::shared_ptr<client_internal::CacheState> state) : state_(std::move(state)) {}
Cache::~Cache() { state_->Stop(); }

Result<Cache::Read<std::optional<coord::v1::KeyValue>>> Cache::Get(const std::string& key,
                                                                   const ReadOptions& options) {
  return state_->Get(key, options);
}
Result<Cache::Read<std::vector<coord::v1::KeyValue>>> Cache::List(const std::string& prefix,
                                                                  const ReadOptions& options) {
  return state_->List(prefix, options);
}
Result<Cache::Read<std::optional<coord::v1::KeyValue>>> Cache::Get(const std::string& key) {
  return state_->Get(key, ReadOptions());
}
Result<Cache::Read<std::vector<coord::v1::KeyValue>>> Cache::List(const std::string& prefix) {
  return state_->List(prefix, ReadOptions());
}
int64_t Cache::revision() const { return state_->revision(); }
Cache::Duration Cache::staleness() const { return state_->staleness(); }
Status Cache::status() const { return state_->status(); }
Cache::Stats Cache::stats() const { return state_->stats(); }

}  // namespace coord
