// The lock workload of the robustness suite (issue 12), short: clients take one
// coord::Lock in turn on the real ensemble, each critical section a read
// through the ensemble, while the leader is killed (-9), and then every member
// is killed and restarted. The recorded grants are checked
// (checker/lock_history.h): tokens unique and rising in grant order (across the
// full restart too), and no overlap with a holder whose release was
// acknowledged. A hold whose session was lost is reported as fenced.
#include <atomic>
#include <mutex>
#include <thread>

#include "checker/lock_history.h"
#include "coord/client/lock.h"
#include "coord/client/session.h"
#include "checker/history_clock.h"
#include "env.h"

namespace coord::test {
namespace {

using robustness::LockHold;

TEST(LockHistory, TokensRiseAndHoldersNeverOverlapThroughKills) {
  const std::string name = Fresh("/robust/lock");
  constexpr int kClients = 3;
  std::mutex mu;
  std::vector<LockHold> holds;
  std::atomic<bool> stop{false};
  std::atomic<int> lost_sessions{0};

  auto worker = [&](int client_index) {
    auto client = NewClient();
    std::unique_ptr<Session> session;
    std::unique_ptr<Lock> lock;
    while (!stop.load()) {
      if (!session || session->lost()) {
        lock.reset();
        Session::Options so;
        so.ttl = std::chrono::milliseconds(2000);
        auto created = Session::Create(*client, so, std::chrono::milliseconds(1500));
        if (!created.ok()) continue;  // no quorum yet: try again
        session = std::move(*created);
        lock = std::make_unique<Lock>(*session, name);
      }
      LockHold hold;
      hold.client = client_index;
      hold.acquire_called = robustness::HistoryNowNs();
      auto token = lock->Acquire(std::chrono::milliseconds(1500));
      if (!token.ok()) continue;  // not granted (or not known to be): never used
      hold.acquired = robustness::HistoryNowNs();
      hold.token = *token;
      // The critical section: a read through the ensemble.
      (void)client->Get(name + "/data", std::chrono::milliseconds(500));
      if (session->lost()) {
        hold.released = robustness::HistoryNowNs();  // noticed the loss: stops using the lock
        lost_sessions.fetch_add(1);
      } else {
        hold.released = robustness::HistoryNowNs();
        hold.release_acknowledged = lock->Release().ok();
      }
      std::lock_guard guard(mu);
      holds.push_back(hold);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) threads.emplace_back(worker, i);
  auto size = [&] {
    std::lock_guard guard(mu);
    return holds.size();
  };

  ASSERT_TRUE(WaitFor([&] { return size() >= 60; }, 30s));
  auto leader = g_client_ensemble->WaitStableLeader(10s);
  ASSERT_TRUE(leader.ok());
  g_client_ensemble->Kill(*leader);
  size_t mark = size();
  EXPECT_TRUE(WaitFor([&] { return size() >= mark + 60; }, 30s)) << "grants after failover";
  EnsureRunning(*leader);

  // Every member down at once, then back on the same data.
  const int64_t killed_at = robustness::HistoryNowNs();
  for (int i = 0; i < g_client_ensemble->size(); ++i) {
    if (g_client_ensemble->Running(i)) g_client_ensemble->Kill(i);
  }
  for (int i = 0; i < g_client_ensemble->size(); ++i) {
    ASSERT_TRUE(g_client_ensemble->Start(i).ok()) << g_client_ensemble->member(i).name;
  }
  ASSERT_TRUE(g_client_ensemble->WaitStableLeader(20s).ok());
  const int64_t restarted_at = robustness::HistoryNowNs();
  mark = size();
  EXPECT_TRUE(WaitFor([&] { return size() >= mark + 60; }, 30s)) << "grants after restart";
  stop = true;
  for (auto& t : threads) t.join();

  int64_t last_before = 0, first_after = INT64_MAX;
  for (const LockHold& h : holds) {
    if (h.acquired < killed_at) last_before = std::max(last_before, h.token);
    if (h.acquire_called > restarted_at) first_after = std::min(first_after, h.token);
  }
  ASSERT_NE(first_after, INT64_MAX) << "no grant after the restart";
  EXPECT_GT(first_after, last_before) << "tokens after a full restart exceed all before";
  const auto result = robustness::CheckLockHistory(holds);
  EXPECT_TRUE(result.ok) << result.Describe() << " (" << holds.size() << " grants)";
  std::printf("lock history: %zu grants, %s, %d lost sessions\n", holds.size(),
              result.Describe().c_str(), lost_sessions.load());
}

}  // namespace
}  // namespace coord::test
