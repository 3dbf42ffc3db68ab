// Unit tests of the command-line parser and the value parsers (args.h), against
// both a small test table and the real command table.
#include "args.h"

#include <gtest/gtest.h>

#include "command_table.h"

namespace coord::ctl {
namespace {

using namespace std::chrono_literals;

const std::vector<CommandSpec>& TestTable() {
  static const std::vector<CommandSpec> table = {
      {{"get"}, "KEY", "read", {{"prefix", false, "", ""}, {"rev", true, "N", ""}}, 1, 1},
      {{"session", "create"}, "", "create", {{"ttl", true, "S", ""}}, 0, 0},
      {{"session", "close"}, "ID", "close", {}, 1, 1},
      {{"lock"}, "NAME", "lock", {{"ttl", true, "S", ""}}, 1, 1, true},
      {{"tx", "begin"}, "", "begin", {{"timeout", true, "S", ""}}, 0, 0},
  };
  return table;
}

Result<Invocation> Parse(std::vector<std::string> argv) {
  return ParseCommandLine(argv, TestTable());
}

TEST(ParseCommandLine, DefaultsWithoutGlobalFlags) {
  auto inv = Parse({"get", "/a"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(CommandName(*inv->command), "get");
  EXPECT_EQ(inv->args, std::vector<std::string>{"/a"});
  EXPECT_EQ(inv->global.endpoints, std::vector<std::string>{"127.0.0.1:7420"});
  EXPECT_EQ(inv->global.output, OutputFormat::kText);
  EXPECT_EQ(inv->global.timeout, 5000ms);
  EXPECT_FALSE(inv->Has("prefix"));
}

TEST(ParseCommandLine, GlobalFlagsAnywhereAndBothValueSpellings) {
  auto inv = Parse({"--endpoints", "127.0.0.2:1,127.0.0.3:2", "get", "-o", "json", "/a",
                    "--timeout=250ms", "--rev=7", "--prefix"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->global.endpoints, (std::vector<std::string>{"127.0.0.2:1", "127.0.0.3:2"}));
  EXPECT_EQ(inv->global.output, OutputFormat::kJson);
  EXPECT_EQ(inv->global.timeout, 250ms);
  EXPECT_EQ(inv->Flag("rev"), "7");
  EXPECT_TRUE(inv->Has("prefix"));
  EXPECT_EQ(inv->Flag("prefix"), "");
  EXPECT_EQ(inv->args, std::vector<std::string>{"/a"});
}

TEST(ParseCommandLine, SubcommandsAndNegativeNumbersAsArguments) {
  auto inv = Parse({"session", "close", "-5"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(CommandName(*inv->command), "session close");
  EXPECT_EQ(inv->args, std::vector<std::string>{"-5"});
  inv = Parse({"session", "create", "--ttl", "3"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->Flag("ttl"), "3");
}

TEST(ParseCommandLine, DoubleDashStartsTheCommandOfLockAndEndsFlagsElsewhere) {
  auto inv = Parse({"lock", "/l", "--ttl", "5", "--", "sh", "-c", "echo --prefix"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->args, std::vector<std::string>{"/l"});
  EXPECT_EQ(inv->exec, (std::vector<std::string>{"sh", "-c", "echo --prefix"}));
  // get: what follows "--" is positional, so a key may start with '-'.
  inv = Parse({"get", "--", "--weird"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->args, std::vector<std::string>{"--weird"});
  EXPECT_TRUE(inv->exec.empty());
  // "--" with nothing after it is an error for lock.
  EXPECT_FALSE(Parse({"lock", "/l", "--"}).ok());
}

TEST(ParseCommandLine, CommandFlagWinsOverTheGlobalFlagOfTheSameName) {
  auto inv = Parse({"--timeout", "2s", "tx", "begin", "--timeout", "30s"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->global.timeout, 2000ms);
  EXPECT_EQ(inv->Flag("timeout"), "30s");
}

TEST(ParseCommandLine, UsageErrorsNameTheProblem) {
  struct Case {
    std::vector<std::string> argv;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command \"frobnicate\""},
      {{"session"}, "needs a subcommand (close|create)"},
      {{"session", "open"}, "unknown subcommand \"open\""},
      {{"get"}, "missing arguments"},
      {{"get", "/a", "/b"}, "unexpected argument \"/b\""},
      {{"get", "/a", "--bogus"}, "unknown flag --bogus for \"get\""},
      {{"get", "/a", "-p"}, "unknown flag -p"},
      {{"--prefix", "get", "/a"}, "expected a command first"},
      {{"get", "/a", "--rev"}, "flag --rev needs a value"},
      {{"get", "/a", "--prefix=yes"}, "takes no value"},
      {{"-o", "yaml", "get", "/a"}, "\"yaml\" is not an output format"},
      {{"--endpoints", "nohost", "get", "/a"}, "is not HOST:PORT"},
      {{"--endpoints", "h:0", "get", "/a"}, "bad port"},
      {{"--endpoints", "h:1,,h:2", "get", "/a"}, "is not HOST:PORT"},
      {{"--timeout", "soon", "get", "/a"}, "is not a duration"},
  };
  for (const Case& c : cases) {
    auto inv = Parse(c.argv);
    ASSERT_FALSE(inv.ok()) << testing::PrintToString(c.argv);
    EXPECT_EQ(inv.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(inv.status().message().find(c.needle), std::string::npos)
        << testing::PrintToString(c.argv) << " -> " << inv.status().message();
  }
}

TEST(ParseCommandLine, HelpWithOrWithoutACommand) {
  auto inv = Parse({"--help"});
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->global.help);
  EXPECT_EQ(inv->command, nullptr);
  inv = Parse({"get", "-h"});  // arity is not checked with --help
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_TRUE(inv->global.help);
  ASSERT_NE(inv->command, nullptr);
  EXPECT_EQ(CommandName(*inv->command), "get");
}

TEST(ParseCommandLine, EveryCommandOfTheRealTableParses) {
  // Each design command with its required arguments.
  const std::vector<std::vector<std::string>> lines = {
      {"put", "/k", "v", "--session", "5"},
      {"get", "/k", "--prefix", "--rev", "3", "--serializable"},
      {"del", "/k", "--prefix"},
      {"cas", "/k", "2", "v"},
      {"watch", "/k", "--prefix", "--rev", "9", "--count", "2"},
      {"session", "create", "--ttl", "10"},
      {"session", "keepalive", "5"},
      {"session", "close", "5"},
      {"session", "list"},
      {"lock", "/l", "--ttl", "5", "--shared", "--", "echo", "hi"},
      {"elect", "/e", "v1"},
      {"elect", "--observe", "/e"},
      {"tx", "begin", "--participants", "a,b", "--timeout", "5", "--payload", "p"},
      {"tx", "vote", "7", "a", "yes"},
      {"tx", "ack", "7", "a"},
      {"tx", "get", "7"},
      {"tx", "list", "--participant", "a"},
      {"member", "list"},
      {"member", "add", "m4", "127.0.0.4:7421", "--learner"},
      {"member", "promote", "m4"},
      {"member", "remove", "m4"},
      {"status"},
      {"snapshot", "save", "/tmp/f"},
  };
  for (const auto& argv : lines) {
    auto inv = ParseCommandLine(argv, CommandTable());
    EXPECT_TRUE(inv.ok()) << testing::PrintToString(argv) << ": " << inv.status();
  }
  EXPECT_NE(UsageText().find("snapshot save FILE"), std::string::npos);
}

TEST(ValueParsers, Integers) {
  EXPECT_EQ(*ParseInt("--rev", "42", 1), 42);
  EXPECT_EQ(*ParseInt("n", "-3"), -3);
  EXPECT_FALSE(ParseInt("--rev", "0", 1).ok());
  EXPECT_FALSE(ParseInt("--rev", "4x").ok());
  EXPECT_FALSE(ParseInt("--rev", "").ok());
  EXPECT_FALSE(ParseInt("--rev", "99999999999999999999").ok());
  EXPECT_NE(ParseInt("--rev", "0", 1).status().message().find(">= 1"), std::string::npos);
  EXPECT_EQ(*ParseUint("TXID", "18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint("TXID", "-1").ok());
}

TEST(ValueParsers, Durations) {
  EXPECT_EQ(*ParseDuration("d", "250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("d", "5s"), 5000ms);
  EXPECT_EQ(*ParseDuration("d", "10"), 10000ms);
  EXPECT_EQ(*ParseDuration("d", "1.5"), 1500ms);
  EXPECT_EQ(*ParseDuration("d", "2m"), 120000ms);
  EXPECT_EQ(*ParseDuration("d", "1h"), 3600000ms);
  for (const char* bad : {"", "s", "5x", "1..5", ".", "0", "0.0001", "-1s", "31d", "800h"}) {
    EXPECT_FALSE(ParseDuration("d", bad).ok()) << bad;
  }
}

TEST(ValueParsers, NameLists) {
  EXPECT_EQ(*ParseNameList("p", "a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*ParseNameList("p", "solo"), std::vector<std::string>{"solo"});
  EXPECT_FALSE(ParseNameList("p", "").ok());
  EXPECT_FALSE(ParseNameList("p", "a,,b").ok());
  EXPECT_FALSE(ParseNameList("p", "a,").ok());
  EXPECT_NE(ParseNameList("p", "a,b,a").status().message().find("twice"), std::string::npos);
}

}  // namespace
}  // namespace coord::ctl
