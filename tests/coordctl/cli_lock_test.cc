// End-to-end: lock (with and without a command) and elect (campaign, observe)
// through coordctl.
#include <signal.h>

#include "cli_env.h"
#include "coord.pb.h"

namespace coord::test {
namespace {

// Waits until lock `name` has `n` waiters (lockInspect on member 0).
bool WaitLockWaiters(const std::string& name, int n) {
  auto c = WsClient::Connect(SharedEnsemble().member(0).client_address);
  if (!c.ok()) return false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    coord::v1::Request r;
    r.mutable_lock_inspect()->set_name(name);
    auto resp = (*c)->Call(r);
    if (resp.ok() && resp->has_lock_inspect() && resp->lock_inspect().lock().waiters_size() >= n) {
      return true;
    }
  }
  return false;
}

int64_t TokenOfTextLine(const std::string& line) {
  // "NAME token T session S"
  const size_t at = line.find(" token ");
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + 7));
}

TEST(CtlLock, RunsTheCommandWithTheTokenAndPassesItsStatusThrough) {
  const std::string name = Fresh("/ctl/lock/cmd");
  CtlResult a = Ctl({"lock", name, "--", "sh", "-c", "echo $COORD_LOCK_TOKEN"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(a.lines().size(), 1u) << a.out;
  const int64_t t1 = std::stoll(a.lines()[0]);
  EXPECT_GT(t1, 0);
  // The lock was released when the command exited: the next one gets t1 + 1.
  CtlResult b = Ctl({"lock", name, "--", "sh", "-c", "echo $COORD_LOCK_TOKEN $COORD_LOCK_NAME"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.out, std::to_string(t1 + 1) + " " + name + "\n");
  // CMD's exit status is coordctl's, without a message.
  CtlResult c = Ctl({"lock", name, "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(c.exit_code, 7);
  EXPECT_EQ(c.err, "");
  // A command that does not exist: 127, like a shell.
  CtlResult d = Ctl({"lock", name, "--", "/nonexistent/cmd"});
  EXPECT_EQ(d.exit_code, 127);
  EXPECT_NE(d.err.find("cannot run"), std::string::npos) << d.err;
  // ... and the lock was released in every case.
  CtlResult e = Ctl({"lock", name, "--try", "--", "true"});
  EXPECT_EQ(e.exit_code, 0) << e.err;
}

TEST(CtlLock, HolderBlocksOthersUntilSignalledAndTokensIncrease) {
  const std::string name = Fresh("/ctl/lock/hold");
  auto holder = StartCtl({"lock", name, "--ttl", "10"});
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->WaitLines(1)) << holder->Err();
  const int64_t t1 = TokenOfTextLine(holder->Lines()[0]);
  ASSERT_GT(t1, 0) << holder->Lines()[0];
  EXPECT_EQ(holder->Lines()[0].rfind(name + " token ", 0), 0u);

  // While held: --try fails with the conflict code.
  ExpectFailure(Ctl({"lock", name, "--try"}), 4, "");
  // A JSON waiter queues behind the holder and gets the next token once the holder
  // is interrupted (which releases the lock and exits 0).
  auto waiter = StartCtl({"-o", "json", "lock", name});
  ASSERT_NE(waiter, nullptr);
  holder->Signal(SIGTERM);
  EXPECT_EQ(holder->Wait(), 0) << holder->Err();
  ASSERT_TRUE(waiter->WaitLines(1)) << waiter->Err();
  const auto j = JsonStruct(waiter->Lines()[0]);
  EXPECT_EQ(StructString(j, "name"), name);
  EXPECT_EQ(StructString(j, "token"), std::to_string(t1 + 1));
  EXPECT_FALSE(StructString(j, "session").empty());
  EXPECT_FALSE(j.fields().at("shared").bool_value());
  waiter->Signal(SIGINT);
  EXPECT_EQ(waiter->Wait(), 0) << waiter->Err();
}

TEST(CtlLock, SharedHoldersCoexistAndExcludeWriters) {
  const std::string name = Fresh("/ctl/lock/shared");
  auto r1 = StartCtl({"lock", name, "--shared"});
  auto r2 = StartCtl({"lock", name, "--shared"});
  ASSERT_TRUE(r1->WaitLines(1)) << r1->Err();
  ASSERT_TRUE(r2->WaitLines(1)) << r2->Err();
  EXPECT_NE(r1->Lines()[0].find(" shared"), std::string::npos);
  ExpectFailure(Ctl({"lock", name, "--try"}), 4, "");
  r1->Signal(SIGTERM);
  r2->Signal(SIGTERM);
  EXPECT_EQ(r1->Wait(), 0);
  EXPECT_EQ(r2->Wait(), 0);
  EXPECT_EQ(Ctl({"lock", name, "--try", "--", "true"}).exit_code, 0);
}

TEST(CtlLock, WaitTimeoutAndInterruptedWait) {
  const std::string name = Fresh("/ctl/lock/timeout");
  auto holder = StartCtl({"lock", name});
  ASSERT_TRUE(holder->WaitLines(1)) << holder->Err();
  ExpectFailure(Ctl({"lock", name, "--wait-timeout", "300ms"}), 5, "not granted");
  // A waiter interrupted before the grant exits 128 + SIGTERM, leaving the queue.
  auto waiter = StartCtl({"lock", name, "--", "echo", "never"});
  ASSERT_NE(waiter, nullptr);
  // Signal it once the ensemble lists it as a waiter (so it is really waiting).
  ASSERT_TRUE(WaitLockWaiters(name, 1)) << waiter->Err();
  waiter->Signal(SIGTERM);
  CtlResult w = waiter->Finish();
  EXPECT_EQ(w.exit_code, 128 + SIGTERM) << w.err;
  EXPECT_EQ(w.out, "");
  EXPECT_NE(w.err.find("interrupted by SIGTERM"), std::string::npos) << w.err;
  holder->Signal(SIGTERM);
  EXPECT_EQ(holder->Wait(), 0);
  EXPECT_EQ(Ctl({"lock", name, "--try", "--", "true"}).exit_code, 0);
}

TEST(CtlLock, BadArguments) {
  ExpectFailure(Ctl({"lock"}), 2, "missing arguments");
  ExpectFailure(Ctl({"lock", ""}), 2, "NAME must not be empty");
  ExpectFailure(Ctl({"lock", "/l", "--try", "--wait-timeout", "1s"}), 2, "exclude");
  ExpectFailure(Ctl({"lock", "/l", "--ttl", "abc"}), 2, "--ttl");
  ExpectFailure(Ctl({"lock", "/l", "--"}), 2, "followed by a command");
}

TEST(CtlElect, CampaignObserveAndHandover) {
  const std::string name = Fresh("/ctl/elect/e");
  auto a = StartCtl({"elect", name, "alpha"});
  ASSERT_TRUE(a->WaitLines(1)) << a->Err();
  const std::string line = a->Lines()[0];
  EXPECT_EQ(line.rfind(name + " leader alpha term ", 0), 0u) << line;

  // Observe in JSON: the current leader first.
  CtlResult o = Ctl({"-o", "json", "elect", "--observe", name, "--count", "1"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto leader = FromJson<coord::v1::ElectionLeader>(o.lines().at(0));
  EXPECT_EQ(leader.name(), name);
  EXPECT_EQ(leader.value(), "alpha");
  const int64_t term = leader.term();
  EXPECT_GT(term, 0);

  // b queues behind a; an observer sees a, then b once a is interrupted (resigns).
  // Had b not queued yet when a resigned, "no leader" comes in between.
  auto b = StartCtl({"-o", "json", "elect", name, "beta"});
  auto obs = StartCtl({"elect", "--observe", name});
  ASSERT_TRUE(obs->WaitLines(1)) << obs->Err();
  EXPECT_EQ(obs->Lines()[0].rfind(name + " leader alpha", 0), 0u) << obs->Lines()[0];
  a->Signal(SIGINT);
  EXPECT_EQ(a->Wait(), 0) << a->Err();
  ASSERT_TRUE(b->WaitLines(1)) << b->Err();
  const auto bl = FromJson<coord::v1::ElectionLeader>(b->Lines()[0]);
  EXPECT_EQ(bl.value(), "beta");
  EXPECT_EQ(bl.term(), term + 1);
  const std::string beta_line = name + " leader beta term " + std::to_string(term + 1);
  auto has_beta = [&](const std::vector<std::string>& lines) {
    return !lines.empty() && lines.back().rfind(beta_line, 0) == 0;
  };
  EXPECT_TRUE(obs->WaitOutput(has_beta)) << testing::PrintToString(obs->Lines());
  obs->Signal(SIGTERM);
  CtlResult observed = obs->Finish();
  EXPECT_EQ(observed.exit_code, 0) << observed.err;
  ASSERT_GE(observed.lines().size(), 2u);
  ASSERT_LE(observed.lines().size(), 3u) << observed.out;
  if (observed.lines().size() == 3) {
    EXPECT_EQ(observed.lines()[1], name + " no leader");
  }
  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(), 0);
  // Nobody leads now: observe prints "no leader".
  CtlResult none = Ctl({"elect", "--observe", name, "--count", "1"});
  EXPECT_EQ(none.out, name + " no leader\n") << none.err;
}

TEST(CtlElect, BadArguments) {
  ExpectFailure(Ctl({"elect", "/e"}), 2, "expected NAME VALUE");
  ExpectFailure(Ctl({"elect", "--observe", "/e", "v"}), 2, "exactly one argument");
  ExpectFailure(Ctl({"elect", "/e", "v", "--count", "1"}), 2, "--observe only");
  ExpectFailure(Ctl({"elect", "", "v"}), 2, "NAME must not be empty");
}

}  // namespace
}  // namespace coord::test

namespace coord::test {
namespace {

// Its own ensemble: every member is killed, so the holder's keepalives fail and the
// library declares the session lost (before the ensemble could have expired it).
TEST(CtlLockLoss, LostSessionTerminatesTheCommandAndExits6) {
  Ensemble e(3, 30);
  ASSERT_TRUE(e.StartAll().ok());
  ASSERT_TRUE(e.WaitStableLeader(20s).ok());
  std::string endpoints;
  for (int i = 0; i < 3; ++i) endpoints += (i ? "," : "") + e.member(i).client_address;
  // CMD prints the token, then runs until terminated.
  auto p = StartCoordctl({"--endpoints", endpoints, "lock", "/ctl/loss", "--ttl", "2", "--",
                              "sh", "-c", "echo $COORD_LOCK_TOKEN; exec sleep 600"});
  // A holder without CMD and a leader lose their sessions the same way.
  auto holder = StartCoordctl({"--endpoints", endpoints, "lock", "/ctl/loss2", "--ttl", "2"});
  auto leader =
      StartCoordctl({"--endpoints", endpoints, "elect", "/ctl/loss3", "v", "--ttl", "2"});
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->WaitLines(1)) << p->Err();
  EXPECT_GT(std::stoll(p->Lines()[0]), 0);
  ASSERT_TRUE(holder->WaitLines(1)) << holder->Err();
  ASSERT_TRUE(leader->WaitLines(1)) << leader->Err();
  const auto killed_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) e.Kill(i);
  CtlResult r = p->Finish(30s);
  const auto took = std::chrono::steady_clock::now() - killed_at;
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("lost"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SIGTERM (exit status 143)"), std::string::npos) << r.err;
  // Lost within the TTL of the last confirmed keepalive (not the 600 s of CMD).
  EXPECT_LT(took, 5s);
  CtlResult h = holder->Finish(30s);
  EXPECT_EQ(h.exit_code, 6) << h.err;
  EXPECT_NE(h.err.find("may be granted to another client"), std::string::npos) << h.err;
  CtlResult l = leader->Finish(30s);
  EXPECT_EQ(l.exit_code, 6) << l.err;
  EXPECT_NE(l.err.find("no longer the leader"), std::string::npos) << l.err;
}

}  // namespace
}  // namespace coord::test
