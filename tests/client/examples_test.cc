// Runs the client examples against the test ensemble and checks their output.
#include <sys/wait.h>

#include <cstdio>
#include <string>

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
}

}  // namespace
}  // namespace coord::test
