// Like counts (weak consistency): fast, possibly stale reads from a cache,
// kept honest by revisions.
//
//   coord_example_like_counter --endpoints H:P,... [--posts N] [--writers N]
//                              [--likes N] [--readers N] [--seconds S]
//
// Each post's count is a key. Writers add likes with a compare-and-set on the
// key's mod_revision: the value they start from comes from their own
// coord::Cache (maybe stale), and a stale start is caught by the compare, not
// written — the count itself stays exact. After each like a writer reads its
// own write back from its cache with min_revision (read-your-writes). Readers
// read counts from their caches the whole time and note how stale they were
// told the answers are.
//
// When the writers stop, the program waits until every cache shows exactly the
// counts in the ensemble (convergence), then measures cache reads against
// linearizable reads from the same threads.
//
// Output: one line per figure, then "ok". Exit 0 on success, 1 on any error or
// broken invariant, 2 on bad arguments.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "coord/client/cache.h"
#include "coord/client/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Args {
  std::string endpoints = "127.0.0.1:7420";
  int posts = 5;
  int writers = 3;
  int likes = 100;  // per writer
  int readers = 2;
  double seconds = 1.0;
};

std::unique_ptr<coord::Client> Connect(const std::string& endpoints) {
  coord::ClientOptions o;
  o.endpoints = endpoints;
  auto c = coord::Client::Create(o);
  if (!c.ok()) {
    std::fprintf(stderr, "like_counter: %s\n", c.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*c);
}

std::unique_ptr<coord::Cache> Mirror(coord::Client& client, const std::string& prefix) {
  coord::Cache::Options o;
  o.prefix = prefix;
  auto cache = coord::Cache::Create(client, o);
  if (!cache.ok()) {
    std::fprintf(stderr, "like_counter: cache: %s\n", cache.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*cache);
}

int64_t Count(const std::optional<coord::v1::KeyValue>& kv) {
  return kv ? std::stoll(kv->value()) : 0;
}

// One like on `key`: start from the cache, write with a compare on the revision
// the value came from; a stale start fails the compare and is retried from a
// confirmed-current cache read. Returns the revision of the write.
coord::Result<int64_t> Like(coord::Client& client, coord::Cache& cache, const std::string& key,
                            int64_t* written, uint64_t* stale_starts) {
  coord::Cache::ReadOptions ro;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto seen = cache.Get(key, ro);
    if (!seen.ok()) return seen.status();
    coord::v1::TxnRequest txn;
    auto* cmp = txn.add_compare();
    cmp->set_key(key);
    cmp->set_target(coord::v1::Compare::MOD_REVISION);
    cmp->set_op(coord::v1::Compare::EQUAL);
    cmp->set_number(seen->value ? seen->value->mod_revision() : 0);
    auto* put = txn.add_success()->mutable_put();
    put->set_key(key);
    const int64_t next = Count(seen->value) + 1;
    put->set_value(std::to_string(next));
    auto r = client.Txn(txn);
    if (!r.ok()) return r.status();
    if (r->succeeded()) {
      *written = next;
      return r->revision();
    }
    ++*stale_starts;
    ro.max_staleness = 0ms;  // the cache was behind: read what is current now
  }
  return coord::Status::Conflict("100 attempts lost the race for " + key);
}

int Run(const Args& a) {
  const std::string prefix = "/examples/likes/" + std::to_string(::getpid()) + "/";
  auto admin = Connect(a.endpoints);
  if (!admin) return 1;
  std::vector<std::string> keys;
  for (int p = 0; p < a.posts; ++p) {
    keys.push_back(prefix + "post-" + std::to_string(p));
    if (auto s = admin->Put(keys.back(), "0"); !s.ok()) {
      std::fprintf(stderr, "like_counter: %s\n", s.status().ToString().c_str());
      return 1;
    }
  }

  std::atomic<bool> failed{false};
  std::atomic<uint64_t> ryw_checks{0}, ryw_violations{0}, stale_starts{0};
  std::atomic<bool> writing{true};
  std::mutex stats_mu;
  std::vector<int64_t> staleness_ms;  // as the readers' answers reported it

  std::vector<std::unique_ptr<coord::Client>> reader_clients;
  std::vector<std::unique_ptr<coord::Cache>> reader_caches;
  for (int r = 0; r < a.readers; ++r) {
    reader_clients.push_back(Connect(a.endpoints));
    if (!reader_clients.back()) return 1;
    reader_caches.push_back(Mirror(*reader_clients.back(), prefix));
    if (!reader_caches.back()) return 1;
  }
  std::vector<std::thread> readers;
  for (int r = 0; r < a.readers; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(static_cast<unsigned>(r));
      while (writing) {
        auto got = reader_caches[r]->Get(keys[rng() % keys.size()]);
        if (!got.ok()) {
          failed = true;
          return;
        }
        std::lock_guard lock(stats_mu);
        staleness_ms.push_back(got->staleness.count());
        std::this_thread::sleep_for(1ms);  // a reader serving pages, not a busy loop
      }
    });
  }

  std::vector<std::thread> writers;
  for (int w = 0; w < a.writers; ++w) {
    writers.emplace_back([&, w] {
      auto client = Connect(a.endpoints);
      if (!client) return void(failed = true);
      auto cache = Mirror(*client, prefix);
      if (!cache) return void(failed = true);
      std::mt19937 rng(static_cast<unsigned>(1000 + w));
      uint64_t stale = 0;
      for (int i = 0; i < a.likes; ++i) {
        const std::string& key = keys[rng() % keys.size()];
        int64_t written = 0;
        auto rev = Like(*client, *cache, key, &written, &stale);
        if (!rev.ok()) {
          std::fprintf(stderr, "like_counter: like: %s\n", rev.status().ToString().c_str());
          return void(failed = true);
        }
        coord::Cache::ReadOptions mine;
        mine.min_revision = *rev;
        auto back = cache->Get(key, mine);
        ++ryw_checks;
        // Counts only grow: at or after my write's revision it is at least mine.
        if (!back.ok() || Count(back->value) < written) ++ryw_violations;
      }
      stale_starts += stale;
    });
  }
  for (auto& t : writers) t.join();
  writing = false;
  for (auto& t : readers) t.join();
  if (failed) return 1;

  // The truth, then convergence of every reader's cache to it.
  std::map<std::string, int64_t> truth;
  int64_t total = 0;
  for (const std::string& k : keys) {
    auto kv = admin->Get(k);
    if (!kv.ok()) return 1;
    truth[k] = Count(*kv);
    total += truth[k];
  }
  const auto stopped = Clock::now();
  for (auto& cache : reader_caches) {
    while (true) {
      bool same = true;
      for (const std::string& k : keys) {
        auto got = cache->Get(k);
        same = same && got.ok() && Count(got->value) == truth[k];
      }
      if (same) break;
      if (Clock::now() - stopped > 10s) {
        std::fprintf(stderr, "like_counter: a cache did not converge within 10 s\n");
        return 1;
      }
      std::this_thread::sleep_for(1ms);
    }
  }
  const auto converged_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped).count();

  // Cache reads vs linearizable reads, the same threads for the same time.
  auto measure = [&](bool cached) {
    std::atomic<uint64_t> n{0};
    std::vector<std::thread> ts;
    const auto until = Clock::now() + std::chrono::duration<double>(a.seconds);
    for (int r = 0; r < a.readers; ++r) {
      ts.emplace_back([&, r] {
        std::mt19937 rng(static_cast<unsigned>(r));
        uint64_t local = 0;
        while (Clock::now() < until) {
          const std::string& k = keys[rng() % keys.size()];
          const bool ok = cached ? reader_caches[r]->Get(k).ok() : reader_clients[r]->Get(k).ok();
          if (!ok) failed = true;
          ++local;
        }
        n += local;
      });
    }
    for (auto& t : ts) t.join();
    return static_cast<double>(n.load()) / a.seconds;
  };
  const double cached_rate = measure(true);
  const double linear_rate = measure(false);

  std::sort(staleness_ms.begin(), staleness_ms.end());
  auto pct = [&](double q) {
    return staleness_ms.empty() ? 0
                                : staleness_ms[static_cast<size_t>(q * (staleness_ms.size() - 1))];
  };
  const int64_t expected = static_cast<int64_t>(a.writers) * a.likes;
  std::printf("likes: %lld of %lld (%llu starts from a stale cache caught by the compare)\n",
              static_cast<long long>(total), static_cast<long long>(expected),
              static_cast<unsigned long long>(stale_starts.load()));
  std::printf("read-your-writes: %llu checks, %llu violations\n",
              static_cast<unsigned long long>(ryw_checks.load()),
              static_cast<unsigned long long>(ryw_violations.load()));
  std::printf("reader staleness: %zu reads, p50 %lld ms, p99 %lld ms, max %lld ms\n",
              staleness_ms.size(), static_cast<long long>(pct(0.5)),
              static_cast<long long>(pct(0.99)), static_cast<long long>(pct(1.0)));
  std::printf("converged: every cache equal to the ensemble %lld ms after the writes\n",
              static_cast<long long>(converged_ms));
  std::printf("reads/s with %d threads: cache %.0f, linearizable %.0f (%.0fx)\n", a.readers,
              cached_rate, linear_rate, linear_rate > 0 ? cached_rate / linear_rate : 0.0);
  if (failed || total != expected || ryw_violations != 0) return 1;
  std::printf("ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* flag) { return std::strcmp(argv[i], flag) == 0 && i + 1 < argc; };
    if (next("--endpoints")) {
      a.endpoints = argv[++i];
    } else if (next("--posts")) {
      a.posts = std::max(1, std::atoi(argv[++i]));
    } else if (next("--writers")) {
      a.writers = std::max(1, std::atoi(argv[++i]));
    } else if (next("--likes")) {
      a.likes = std::max(1, std::atoi(argv[++i]));
    } else if (next("--readers")) {
      a.readers = std::max(1, std::atoi(argv[++i]));
    } else if (next("--seconds")) {
      a.seconds = std::max(0.1, std::atof(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--endpoints H:P,...] [--posts N] [--writers N] [--likes N]\n"
                   "          [--readers N] [--seconds S]\n",
                   argv[0]);
      return 2;
    }
  }
  return Run(a);
}
