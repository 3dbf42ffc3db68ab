// Runs the client examples against the test ensemble and checks their output.
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include "test_process.h"
#include "coord/client/topic.h"
#include "env.h"

namespace coord::test {
namespace {

// Runs `command` (a shell line), returns its exit status and stdout.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

#ifdef COORD_EXAMPLE_LOCK_FENCING
TEST(Examples, LockFencing) {
  auto [status, out] = RunCommand(std::string("timeout 120 ") + COORD_EXAMPLE_LOCK_FENCING +
                                  " --endpoints " + Endpoints() + " --workers 3");
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(Count(out, ": written"), 9u) << out;  // 3 workers x 3 rounds
  EXPECT_EQ(Count(out, "stale token"), 1u) << out;
  EXPECT_NE(out.find("\nok\n"), std::string::npos) << out;
}
#endif

#ifdef COORD_EXAMPLE_LEADER_WORKER
TEST(Examples, LeaderWorker) {
  auto [status, out] = RunCommand(std::string("timeout 120 ") + COORD_EXAMPLE_LEADER_WORKER +
                                  " --endpoints " + Endpoints() + " --replicas 3 --units 6");
  EXPECT_EQ(status, 0) << out;
  for (int unit = 1; unit <= 6; ++unit) {
    EXPECT_EQ(Count(out, "did unit " + std::to_string(unit) + "\n"), 1u) << out;
  }
  EXPECT_GE(Count(out, "leader replica-"), 3u) << out;  // every replica led once
  EXPECT_NE(out.find("\nok\n"), std::string::npos) << out;
}
#endif

#ifdef COORD_EXAMPLE_LIKE_COUNTER
// Weak consistency: exact counts (compare-and-set), read-your-writes through the
// writer's own cache, every cache converging once the writes stop.
TEST(Examples, LikeCounter) {
  auto [status, out] =
      RunCommand(std::string("timeout 120 ") + COORD_EXAMPLE_LIKE_COUNTER + " --endpoints " +
                 Endpoints() + " --writers 3 --likes 40 --readers 2 --seconds 0.5");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("likes: 120 of 120"), std::string::npos) << out;
  EXPECT_NE(out.find("read-your-writes: 120 checks, 0 violations"), std::string::npos) << out;
  EXPECT_NE(out.find("converged: every cache equal"), std::string::npos) << out;
  EXPECT_NE(out.find("\nok\n"), std::string::npos) << out;
}
#endif

#ifdef COORD_EXAMPLE_INVENTORY
// Eventual consistency: the inventory service is killed (-9) while orders are
// still being published and restarted on the same store; a lost update is
// injected into its store; the reconciler repairs it; stock ends exact.
TEST(Examples, InventoryConsumerKilledMidStreamAndDriftRepaired) {
  const std::string prefix = Fresh("/shop");
  char dir[] = "/tmp/coord-inventory-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string store = std::string(dir) + "/store";
  const std::vector<std::string> where = {"--endpoints", Endpoints(), "--prefix", prefix};
  auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::vector<std::string> serve =
      with(with({"serve"}, where), {"--store", store, "--reconcile-ms", "200"});
  auto client = NewClient();
  Topic events(*client, prefix + "/events/");

  auto service = ChildProcess::Start(COORD_EXAMPLE_INVENTORY, serve);
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->WaitLines(1)) << service->Err();
  auto orders = ChildProcess::Start(COORD_EXAMPLE_INVENTORY,
                                    with(with({"orders"}, where), {"--count", "300", "--rate", "300"}));
  ASSERT_NE(orders, nullptr);

  // Mid-stream: some events consumed while the order service still publishes.
  ASSERT_TRUE(WaitFor([&] { return events.Cursor("inventory").value_or(0) > 30; }, 20s));
  service->Signal(SIGKILL);
  EXPECT_EQ(service->Wait(), 128 + SIGKILL);
  EXPECT_EQ(orders->Wait(0ms), -1) << "the orders were still being published at the kill";
  const ChildResult placed = orders->Finish(60s);
  ASSERT_EQ(placed.exit_code, 0) << placed.out << placed.err;
  EXPECT_NE(placed.out.find("placed 300 orders (600 units)"), std::string::npos) << placed.out;
  EXPECT_GT(events.Lag("inventory").value_or(0), 0) << "events wait for the killed consumer";

  // A lost update in the store while the service is down (order 5 was consumed).
  const ChildResult drift =
      RunChild(COORD_EXAMPLE_INVENTORY, {"drift", "--store", store, "--order", "o000005"});
  ASSERT_EQ(drift.exit_code, 0) << drift.out << drift.err;

  service = ChildProcess::Start(COORD_EXAMPLE_INVENTORY, serve);
  ASSERT_NE(service, nullptr);
  EXPECT_TRUE(service->WaitOutput(
      [](const std::vector<std::string>& lines) {
        return std::find(lines.begin(), lines.end(), "reconciler: repaired 1") != lines.end();
      },
      30s))
      << service->Err();
  ASSERT_TRUE(WaitFor([&] { return events.Lag("inventory").value_or(-1) == 0; }, 30s));
  service->Signal(SIGTERM);
  const ChildResult stopped = service->Finish();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;

  const ChildResult check = RunChild(COORD_EXAMPLE_INVENTORY,
                                   with(with({"check"}, where), {"--store", store}));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("stock exact: 600 units reserved for 300 orders"), std::string::npos)
      << check.out;
  std::filesystem::remove_all(dir);
}
#endif

#ifdef COORD_EXAMPLE_BANK_TRANSFER
// Strong consistency: transfers between two banks (separate processes with
// their own LevelDB ledgers) by 2PC. Each bank is killed at a 2PC point — before
// it wrote a prepare, after the prepare but before its vote, after applying a
// commit but before its acknowledgement — and restarted on its ledger; the Coord
// leader is killed mid-run too. Afterwards: money conserved, every transfer on
// both sides or neither, the committed ones exactly those the driver was told,
// nothing in doubt.
TEST(Examples, BankTransferSurvivesKillsAtEvery2pcPoint) {
  const std::string run = Fresh("bank").substr(1);
  char dir[] = "/tmp/coord-bank-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string bank_a = run + "-a", bank_b = run + "-b";
  const std::string store_a = std::string(dir) + "/a", store_b = std::string(dir) + "/b";
  auto bank = [&](const std::string& name, const std::string& store, const std::string& crash_at,
                  int crash_after) {
    std::vector<std::string> args = {"account", "--endpoints", Endpoints(), "--name", name,
                                     "--store", store};
    if (!crash_at.empty()) {
      args.insert(args.end(), {"--crash-at", crash_at, "--crash-after", std::to_string(crash_after)});
    }
    auto p = ChildProcess::Start(COORD_EXAMPLE_BANK_TRANSFER, args);
    EXPECT_TRUE(p != nullptr && p->WaitLines(1)) << (p ? p->Err() : "");
    return p;
  };
  // The Nth step of its kind kills the bank; it is restarted with the next crash.
  auto a = bank(bank_a, store_a, "prepared", 10);
  auto b = bank(bank_b, store_b, "before-prepare", 25);
  auto driver = ChildProcess::Start(
      COORD_EXAMPLE_BANK_TRANSFER, {"transfers", "--endpoints", Endpoints(), "--banks",
                                    bank_a + "," + bank_b, "--count", "400", "--concurrency", "6",
                                    "--txn-timeout-ms", "2000"});
  ASSERT_NE(driver, nullptr);
  auto crashed = [](std::unique_ptr<ChildProcess>& p, const std::string& step) {
    EXPECT_EQ(p->Wait(60s), 128 + SIGKILL) << "bank should die at " << step;
    const std::vector<std::string> lines = p->Lines();
    EXPECT_TRUE(!lines.empty() && lines.back().rfind("crashing at " + step, 0) == 0)
        << (lines.empty() ? "" : lines.back());
  };
  crashed(a, "prepared");
  a = bank(bank_a, store_a, "committed", 20);
  crashed(b, "before-prepare");
  b = bank(bank_b, store_b, "", 0);
  crashed(a, "committed");
  a = bank(bank_a, store_a, "", 0);

  // The Coord leader dies while transfers still run.
  EXPECT_EQ(driver->Wait(0ms), -1) << "the driver should still be running";
  auto leader = g_client_ensemble->WaitStableLeader(10s);
  ASSERT_TRUE(leader.ok());
  g_client_ensemble->Kill(*leader);
  const ChildResult transfers = driver->Finish(180s);
  EnsureRunning(*leader);
  ASSERT_EQ(transfers.exit_code, 0) << transfers.out << transfers.err;
  int committed = -1, aborted = -1, unknown = -1;
  ASSERT_EQ(std::sscanf(transfers.out.c_str(), "transfers: %d committed, %d aborted, %d unknown",
                        &committed, &aborted, &unknown),
            3)
      << transfers.out;
  EXPECT_EQ(committed + aborted, 400);
  EXPECT_GT(committed, 0);
  // Aborts are allowed, not required: a restarted bank recovers its unvoted
  // prepares and usually votes before the transfer's timeout.

  // Everything back: wait until neither bank owes the ensemble anything.
  auto client = NewClient();
  auto owes = [&](const std::string& name) {
    coord::v1::Request r;
    r.mutable_tpc_list()->set_participant(name);
    auto reply = client->Call(r);
    return !reply.ok() || reply->tpc_list().txns_size() > 0;
  };
  EXPECT_TRUE(WaitFor([&] { return !owes(bank_a) && !owes(bank_b); }, 60s));
  a->Signal(SIGTERM);
  b->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(), 0);
  EXPECT_EQ(b->Wait(), 0);
  const ChildResult check = RunChild(COORD_EXAMPLE_BANK_TRANSFER,
                                     {"check", "--stores", store_a + "," + store_b});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("money conserved: 20000; " + std::to_string(committed) +
                           " transfers committed on both sides, none split, none in doubt"),
            std::string::npos)
      << check.out;
  std::filesystem::remove_all(dir);
}
#endif

#if defined(COORD_EXAMPLE_INVENTORY) && defined(COORD_EXAMPLE_BANK_TRANSFER)
// The one-process demos the README points to.
TEST(Examples, DemosRun) {
  auto [inv_status, inv] = RunCommand(std::string("timeout 120 ") + COORD_EXAMPLE_INVENTORY +
                                      " demo --endpoints " + Endpoints() + " --count 50");
  EXPECT_EQ(inv_status, 0) << inv;
  EXPECT_NE(inv.find("reconciler: repaired 1"), std::string::npos) << inv;
  EXPECT_NE(inv.find("\nok\n"), std::string::npos) << inv;
  auto [bank_status, bank] = RunCommand(std::string("timeout 120 ") + COORD_EXAMPLE_BANK_TRANSFER +
                                        " demo --endpoints " + Endpoints() + " --count 50");
  EXPECT_EQ(bank_status, 0) << bank;
  EXPECT_NE(bank.find("none split, none in doubt"), std::string::npos) << bank;
  EXPECT_NE(bank.find("\nok\n"), std::string::npos) << bank;
}
#endif

TEST(Examples, BadArgumentsAreRefused) {
#ifdef COORD_EXAMPLE_LOCK_FENCING
  EXPECT_EQ(RunCommand(std::string(COORD_EXAMPLE_LOCK_FENCING) + " --bogus").first, 2);
#endif
#ifdef COORD_EXAMPLE_LEADER_WORKER
  EXPECT_EQ(RunCommand(std::string(COORD_EXAMPLE_LEADER_WORKER) + " --bogus").first, 2);
#endif
#ifdef COORD_EXAMPLE_LIKE_COUNTER
  EXPECT_EQ(RunCommand(std::string(COORD_EXAMPLE_LIKE_COUNTER) + " --bogus").first, 2);
#endif
#ifdef COORD_EXAMPLE_INVENTORY
  EXPECT_EQ(RunCommand(std::string(COORD_EXAMPLE_INVENTORY) + " serve").first, 2) << "no --store";
#endif
#ifdef COORD_EXAMPLE_BANK_TRANSFER
  EXPECT_EQ(RunCommand(std::string(COORD_EXAMPLE_BANK_TRANSFER) + " transfers --banks a,a").first, 2);
#endif
}

}  // namespace
}  // namespace coord::test
