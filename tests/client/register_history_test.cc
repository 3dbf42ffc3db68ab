// The register workload of the robustness suite (issue 12), short: clients
// read, write and compare-and-set a few keys through coord::Client on the real
// ensemble while its leader is killed (-9) and restarted; the recorded history
// must be linearizable (checker/linearizability.h). A timeout is an
// indeterminate operation (it may or may not have taken effect); UNAVAILABLE
// means certainly not applied, so the operation is left out.
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "checker/linearizability.h"
#include "checker/history_clock.h"
#include "env.h"

namespace coord::test {
namespace {

using robustness::RegisterOp;

TEST(RegisterHistory, LinearizableThroughALeaderKill) {
  const std::string prefix = Fresh("/reg") + "/";
  constexpr int kClients = 3;
  constexpr int kKeys = 3;
  std::mutex mu;
  std::vector<RegisterOp> history;
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0}, timeouts{0}, cas_won{0};

  auto worker = [&](int client_index) {
    auto client = NewClient();
    std::mt19937 rng(77 + client_index);
    std::vector<std::optional<std::string>> last(kKeys);  // last value this client saw
    for (int n = 0; !stop.load(); ++n) {
      const int k = static_cast<int>(rng() % kKeys);
      RegisterOp op;
      op.client = client_index;
      op.key = prefix + std::to_string(k);
      const int dice = static_cast<int>(rng() % 10);
      Status status;
      op.call = robustness::HistoryNowNs();
      if (dice < 4) {
        op.kind = RegisterOp::kRead;
        auto got = client->Get(op.key, std::chrono::milliseconds(1500));
        status = got.status();
        if (got.ok()) {
          if (got->has_value()) op.observed = (*got)->value();
          last[k] = op.observed;
        }
      } else if (dice < 7) {
        op.kind = RegisterOp::kWrite;
        op.value = std::to_string(client_index) + "-" + std::to_string(n);
        status = client->Put(op.key, op.value, 0, std::chrono::milliseconds(1500)).status();
      } else {
        op.kind = RegisterOp::kCas;
        op.expected = last[k];
        op.value = std::to_string(client_index) + "-" + std::to_string(n);
        coord::v1::TxnRequest txn;
        auto* cmp = txn.add_compare();
        cmp->set_key(op.key);
        if (op.expected) {
          cmp->set_target(coord::v1::Compare::VALUE);
          cmp->set_value(*op.expected);
        } else {
          cmp->set_target(coord::v1::Compare::VERSION);
          cmp->set_number(0);
        }
        auto* put = txn.add_success()->mutable_put();
        put->set_key(op.key);
        put->set_value(op.value);
        auto reply = client->Txn(txn, std::chrono::milliseconds(1500));
        status = reply.status();
        if (reply.ok()) {
          op.cas_succeeded = reply->succeeded();
          if (op.cas_succeeded) cas_won.fetch_add(1);
        }
      }
      op.ret = robustness::HistoryNowNs();
      if (status.code() == StatusCode::kTimeout) {
        op.indeterminate = true;
        timeouts.fetch_add(1);
      } else if (status.code() == StatusCode::kUnavailable) {
        continue;  // certainly not applied: it did not happen
      } else if (!status.ok()) {
        unexpected.fetch_add(1);
        ADD_FAILURE() << status.ToString();
        continue;
      }
      std::lock_guard lock(mu);
      history.push_back(std::move(op));
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) threads.emplace_back(worker, i);

  // Let the history grow, kill the leader, let it grow through the failover.
  auto size = [&] {
    std::lock_guard lock(mu);
    return history.size();
  };
  ASSERT_TRUE(WaitFor([&] { return size() >= 300; }, 20s));
  auto leader = g_client_ensemble->WaitStableLeader(10s);
  ASSERT_TRUE(leader.ok());
  g_client_ensemble->Kill(*leader);
  const size_t at_kill = size();
  EXPECT_TRUE(WaitFor([&] { return size() >= at_kill + 300; }, 30s)) << "progress after failover";
  stop = true;
  for (auto& t : threads) t.join();
  EnsureRunning(*leader);

  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(cas_won.load(), 0) << "the history should include successful compare-and-sets";
  const auto result = robustness::CheckRegisterHistory(history);
  EXPECT_TRUE(result.linearizable) << result.Describe() << " (" << history.size()
                                   << " operations, " << timeouts.load() << " indeterminate)";
  EXPECT_FALSE(result.exhausted);
}

}  // namespace
}  // namespace coord::test
