// coord::Cache on a real ensemble: list then follow, handlers in revision order,
// read-your-writes, staleness bounds (confirm or read through), re-list after the
// watch fell behind compaction (the missed delete is reported), and the limits.
#include "coord/client/cache.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "env.h"

namespace coord::test {
namespace {

using coord::v1::KeyValue;

// What the handlers were told, as "add k=v", "update k=v", "delete k".
struct Journal {
  std::mutex mu;
  std::vector<std::string> lines;
  std::atomic<bool> off_executor{false};

  Cache::Handlers Handlers(Client& c) {
    Cache::Handlers h;
    h.on_add = [this, &c](const KeyValue& kv) { Note(c, "add " + kv.key() + "=" + kv.value()); };
    h.on_update = [this, &c](const KeyValue&, const KeyValue& kv) {
      Note(c, "update " + kv.key() + "=" + kv.value());
    };
    h.on_delete = [this, &c](const KeyValue& kv) { Note(c, "delete " + kv.key()); };
    return h;
  }
  void Note(Client& c, std::string line) {
    if (!c.executor().InExecutorThread()) off_executor = true;
    std::lock_guard lock(mu);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> Snapshot() {
    std::lock_guard lock(mu);
    return lines;
  }
  bool Has(const std::string& line) {
    std::lock_guard lock(mu);
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }
};

std::optional<std::string> ValueIn(Cache& cache, const std::string& key) {
  auto r = cache.Get(key);
  if (!r.ok() || !r->value) return std::nullopt;
  return r->value->value();
}

TEST(ClientCache, ListsThenFollowsEveryChangeInOrder) {
  auto writer = NewClient();
  auto reader = NewClient();
  const std::string p = Fresh("/cache/follow") + "/";
  ASSERT_TRUE(writer->Put(p + "a", "1").ok());
  ASSERT_TRUE(writer->Put(p + "b", "1").ok());
  Journal journal;
  Cache::Options o;
  o.prefix = p;
  o.page_size = 1;  // the list takes pages, all at one revision
  auto cache = Cache::Create(*reader, o, journal.Handlers(*reader));
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(ValueIn(**cache, p + "a"), "1");

  ASSERT_TRUE(writer->Put(p + "a", "2").ok());
  ASSERT_TRUE(writer->Delete(p + "b").ok());
  auto last = writer->Put(p + "c", "3");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(WaitFor([&] { return (*cache)->revision() >= last->revision(); }, 10s));
  ASSERT_TRUE(WaitFor([&] { return journal.Snapshot().size() >= 5; }, 10s));
  const std::vector<std::string> want = {"add " + p + "a=1", "add " + p + "b=1",
                                         "update " + p + "a=2", "delete " + p + "b",
                                         "add " + p + "c=3"};
  EXPECT_EQ(journal.Snapshot(), want);
  EXPECT_FALSE(journal.off_executor.load());
  auto all = (*cache)->List(p);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->value.size(), 2u);
  EXPECT_EQ(all->value[0].key(), p + "a");
  EXPECT_EQ(all->value[1].value(), "3");
  EXPECT_GE(all->revision, last->revision());
  EXPECT_TRUE(all->from_cache);
}

TEST(ClientCache, AMinimumRevisionReadsYourOwnWrite) {
  auto writer = NewClient(g_client_ensemble->member(0).client_address);
  auto reader = NewClient(g_client_ensemble->member(1).client_address);
  const std::string p = Fresh("/cache/ryw") + "/";
  Cache::Options o;
  o.prefix = p;
  auto cache = Cache::Create(*reader, o);
  ASSERT_TRUE(cache.ok()) << cache.status();
  for (int i = 0; i < 20; ++i) {
    auto put = writer->Put(p + "k", std::to_string(i));
    ASSERT_TRUE(put.ok());
    Cache::ReadOptions ro;
    ro.min_revision = put->revision();
    auto got = (*cache)->Get(p + "k", ro);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->value.has_value());
    EXPECT_EQ(got->value->value(), std::to_string(i)) << "read your own write " << i;
    EXPECT_GE(got->revision, put->revision());
  }
}

TEST(ClientCache, AStalenessBoundIsMetByConfirmingOrByReadingThrough) {
  auto c = NewClient();
  const std::string p = Fresh("/cache/stale") + "/";
  ASSERT_TRUE(c->Put(p + "k", "v").ok());
  Cache::Options o;
  o.prefix = p;
  o.confirm_interval = std::chrono::milliseconds(0);  // only when a read asks
  auto cache = Cache::Create(*c, o);
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE(WaitFor([&] { return (*cache)->staleness() >= 300ms; }, 5s));

  Cache::ReadOptions bounded;
  bounded.max_staleness = 100ms;
  const uint64_t before = (*cache)->stats().confirmations;
  auto got = (*cache)->Get(p + "k", bounded);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->from_cache);
  EXPECT_LE(got->staleness, 100ms);
  EXPECT_EQ((*cache)->stats().confirmations, before + 1) << "confirmed by asking the ensemble";

  Cache::ReadOptions now;
  now.max_staleness = 0ms;
  now.on_stale = Cache::OnStale::kReadThrough;
  auto through = (*cache)->Get(p + "k", now);
  ASSERT_TRUE(through.ok()) << through.status();
  EXPECT_FALSE(through->from_cache);
  EXPECT_EQ(through->value->value(), "v");
  EXPECT_EQ((*cache)->stats().read_throughs, 1u);

  // Periodic confirmation keeps it fresh without any read asking.
  o.confirm_interval = 100ms;
  auto periodic = Cache::Create(*c, o);
  ASSERT_TRUE(periodic.ok());
  ASSERT_TRUE(WaitFor([&] { return (*periodic)->stats().confirmations >= 3; }, 5s));
  EXPECT_LT((*periodic)->staleness(), 1s);
}

TEST(ClientCache, AWatchBehindCompactionReListsAndReportsTheMissedDelete) {
  auto writer = NewClient();
  auto reader = NewClient(g_client_ensemble->member(2).client_address);
  const std::string p = Fresh("/cache/relist") + "/";
  ASSERT_TRUE(writer->Put(p + "gone", "1").ok());
  ASSERT_TRUE(writer->Put(p + "kept", "1").ok());
  Journal journal;
  Cache::Options o;
  o.prefix = p;
  auto cache = Cache::Create(*reader, o, journal.Handlers(*reader));
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE(WaitFor([&] { return journal.Snapshot().size() == 2; }, 5s));

  // The cache's connection hears nothing while the key goes and history is
  // compacted past it; then the connection breaks, and the watch cannot resume.
  reader->TEST_StallIo(true);
  ASSERT_TRUE(writer->Delete(p + "gone").ok());
  auto put = writer->Put(p + "kept", "2");
  ASSERT_TRUE(put.ok());
  ASSERT_TRUE(writer->Compact(put->revision()).ok());
  // The compaction is acknowledged once committed; wait until the reader's
  // member has applied it too (a linearizable read there does), or the watch
  // could resume from its history before the compaction reaches it.
  auto probe = NewClient(g_client_ensemble->member(2).client_address);
  ASSERT_TRUE(probe->Get(p + "kept").ok());
  reader->TEST_BreakConnection();
  reader->TEST_StallIo(false);

  ASSERT_TRUE(WaitFor([&] { return journal.Has("delete " + p + "gone"); }, 15s))
      << "a handler never misses a delete";
  EXPECT_TRUE(journal.Has("update " + p + "kept=2"));
  EXPECT_EQ(ValueIn(**cache, p + "gone"), std::nullopt);
  EXPECT_EQ(ValueIn(**cache, p + "kept"), "2");
  const Cache::Stats s = (*cache)->stats();
  EXPECT_GE(s.relists, 1u);
  EXPECT_GE(s.relist_changes, 2u);
  // Still following after the re-list.
  auto later = writer->Put(p + "new", "1");
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE(WaitFor([&] { return ValueIn(**cache, p + "new") == "1"; }, 10s));
}

TEST(ClientCache, OverItsLimitTheCacheStopsWithAClearError) {
  auto c = NewClient();
  const std::string p = Fresh("/cache/limit") + "/";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->Put(p + std::to_string(i), "v").ok());
  Cache::Options o;
  o.prefix = p;
  o.max_keys = 2;
  auto refused = Cache::Create(*c, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kTooLarge) << refused.status();

  o.max_keys = 3;
  auto cache = Cache::Create(*c, o);
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE(c->Put(p + "3", "v").ok());
  ASSERT_TRUE(WaitFor([&] { return !(*cache)->status().ok(); }, 10s));
  EXPECT_EQ((*cache)->status().code(), StatusCode::kTooLarge);
  EXPECT_NE((*cache)->status().message().find("max_keys"), std::string::npos);
  auto read = (*cache)->Get(p + "0");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kTooLarge);
  EXPECT_EQ((*cache)->Get("/elsewhere").status().code(), StatusCode::kInvalidArgument);
}

TEST(ClientCache, ManyThreadsReadWhileItFollowsWrites) {
  auto c = NewClient();
  const std::string p = Fresh("/cache/threads") + "/";
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c->Put(p + std::to_string(i), "0").ok());
  Cache::Options o;
  o.prefix = p;
  auto cache = Cache::Create(*c, o);
  ASSERT_TRUE(cache.ok()) << cache.status();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      while (!stop) {
        auto r = (*cache)->Get(p + std::to_string((t * 7 + reads.load()) % 50));
        if (!r.ok() || !r->value) ++bad;
        ++reads;
      }
    });
  }
  int64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    auto put = c->Put(p + std::to_string(i), "1");
    ASSERT_TRUE(put.ok());
    last = put->revision();
  }
  ASSERT_TRUE(WaitFor([&] { return (*cache)->revision() >= last; }, 10s));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 1000u);
  auto all = (*cache)->List(p);
  ASSERT_TRUE(all.ok());
  for (const KeyValue& kv : all->value) EXPECT_EQ(kv.value(), "1") << kv.key();
}

}  // namespace
}  // namespace coord::test
