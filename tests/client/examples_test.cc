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
}

}  // namespace
}  // namespace coord::test
