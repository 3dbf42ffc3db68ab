// End-to-end: coordctl's failure modes — usage errors (exit 2, nothing sent),
// unreachable endpoints (exit 5 within the deadline), failover across endpoints,
// and help.
#include "cli_env.h"

namespace coord::test {
namespace {

TEST(CtlErrors, UsageErrorsExit2WithOneLineOnStderr) {
  // No ensemble needed: these fail before connecting (the endpoint is dead).
  const std::vector<std::string> dead = {"--endpoints", "127.0.0.1:1"};
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{}, "no command"},
      {{"frob"}, "unknown command"},
      {{"get"}, "missing arguments"},
      {{"put", "/k"}, "missing arguments"},
      {{"put", "/k", "v", "extra"}, "unexpected argument"},
      {{"get", "/k", "--rev", "x"}, "--rev"},
      {{"get", "/k", "--nope"}, "unknown flag --nope"},
      {{"-o", "xml", "status"}, "output format"},
      {{"--timeout", "0", "status"}, "--timeout"},
      {{"--endpoints", "localhost", "status"}, "HOST:PORT"},
      {{"tx"}, "needs a subcommand"},
      {{"snapshot", "load", "f"}, "unknown subcommand"},
      {{"cas", "/k", "v1", "x"}, "EXPECTED_VERSION"},
      {{"del", "", "--prefix"}, "KEY must not be empty"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.begin(), dead.begin(), dead.end());
    CtlResult r = RunCtl(args, 10s);
    SCOPED_TRACE(testing::PrintToString(c.args));
    ExpectFailure(r, 2, c.needle);
  }
}

TEST(CtlErrors, UnreachableEndpointsExit5WithinTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  CtlResult r =
      RunCtl({"--endpoints", "127.0.0.1:1,127.0.0.2:1", "--timeout", "700ms", "get", "/k"}, 20s);
  const auto took = std::chrono::steady_clock::now() - start;
  ExpectFailure(r, 5, "");
  EXPECT_LT(took, 10s);  // the deadline (plus process start and shutdown) bounds it
  CtlResult json = RunCtl(
      {"-o", "json", "--endpoints", "127.0.0.1:1", "--timeout", "300ms", "put", "/k", "v"}, 20s);
  ExpectFailure(json, 5, "");
}

TEST(CtlErrors, FailsOverToTheNextEndpoint) {
  const std::string k = Fresh("/ctl/err/failover");
  const std::string good = SharedEnsemble().member(1).client_address;
  CtlResult put = RunCtl({"--endpoints", "127.0.0.1:1," + good, "put", k, "v"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  CtlResult get = RunCtl({"--endpoints", "127.0.0.3:1," + good, "get", k});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, k + "\nv\n");
}

TEST(CtlErrors, ServerSideRefusalIsExit1) {
  // A key over the server's 8 KiB limit: refused by the server, not by coordctl.
  CtlResult r = Ctl({"put", "/" + std::string(9000, 'k'), "v"});
  ExpectFailure(r, 1, "TOO_LARGE");
}

TEST(CtlErrors, HelpPrintsUsageAndExits0) {
  CtlResult all = RunCtl({"--help"});
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_NE(all.out.find("coordctl lock NAME [-- CMD ARGS...]"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("exit status"), std::string::npos);
  CtlResult one = RunCtl({"get", "-h"});
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_NE(one.out.find("--serializable"), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find("snapshot save"), std::string::npos);
}

}  // namespace
}  // namespace coord::test
