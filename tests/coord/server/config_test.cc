#include "server/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "server/identity.h"

namespace coord::server {
namespace {

TEST(ConfigTest, DefaultsWithNoArguments) {
  auto c = ParseCommandLine({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.listen_client, "127.0.0.1:7420");
  EXPECT_EQ(c->server.listen_peer, "127.0.0.1:7421");
  EXPECT_EQ(c->server.data_dir, "coord-data");
  EXPECT_TRUE(c->server.initial_cluster.empty());
}

TEST(ConfigTest, FlagsAndInitialCluster) {
  auto c = ParseCommandLine(
      {"--name", "b", "--initial-cluster", "a=127.0.0.1:1,b=127.0.0.2:2", "--tick-ms=20"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->server.initial_cluster.size(), 2u);
  EXPECT_EQ(c->server.initial_cluster[1].peer_address, "127.0.0.2:2");
  EXPECT_EQ(c->server.tick_ms, 20);
}

TEST(ConfigTest, LimitFlags) {
  auto c = ParseCommandLine({"--max-request-bytes", "4096", "--max-watches-per-connection=3",
                             "--default-timeout-ms", "250"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.limits.max_request_bytes, 4096u);
  EXPECT_EQ(c->server.limits.max_watches_per_connection, 3u);
  EXPECT_EQ(c->server.limits.max_connections, ServerLimits().max_connections);
  EXPECT_EQ(c->server.default_timeout_ms, 250u);
  EXPECT_FALSE(ParseCommandLine({"--max-connections", "0"}).ok());
  c = ParseCommandLine({"--max-outbound-bytes-per-connection", "65536", "--max-response-bytes",
                        "4096"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.limits.max_outbound_bytes_per_connection, 65536u);
  EXPECT_EQ(c->server.limits.max_response_bytes, 4096u);
  // A reply the connection could never queue is a configuration error.
  EXPECT_FALSE(ParseCommandLine({"--max-outbound-bytes-per-connection", "4096"}).ok());
}

TEST(ConfigTest, SyncCommitUpdatesIsOffByDefaultAndCanBeTurnedOn) {
  auto c = ParseCommandLine({});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->server.sync_commit_updates);
  c = ParseCommandLine({"--sync-commit-updates", "true"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->server.sync_commit_updates);
  auto bad = ParseCommandLine({"--sync-commit-updates=yes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("true or false"), std::string::npos);
}

TEST(ConfigTest, TlsFlagsGoTogether) {
  auto c = ParseCommandLine({"--cert-file", "m.pem", "--key-file", "m.key", "--trusted-ca-file",
                             "ca.pem", "--client-cert-auth", "true"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->server.client_tls.enabled());
  EXPECT_TRUE(c->server.client_tls.client_cert_auth);
  EXPECT_EQ(c->server.client_tls.trusted_ca_file, "ca.pem");
  EXPECT_FALSE(ParseCommandLine({}).value().server.client_tls.enabled()) << "off by default";
  auto no_key = ParseCommandLine({"--cert-file", "m.pem"});
  EXPECT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("--key-file"), std::string::npos);
  EXPECT_FALSE(ParseCommandLine({"--trusted-ca-file", "ca.pem"}).ok()) << "a CA without TLS";
  EXPECT_FALSE(ParseCommandLine({"--cert-file", "m.pem", "--key-file", "m.key",
                                 "--client-cert-auth", "true"})
                   .ok())
      << "client-cert-auth without a CA";
  EXPECT_FALSE(ParseCommandLine({"--client-cert-auth", "yes"}).ok());
}

TEST(ConfigTest, PeerTlsFlagsGoTogether) {
  auto c = ParseCommandLine({"--peer-cert-file", "p.pem", "--peer-key-file", "p.key",
                             "--peer-trusted-ca-file", "ca.pem"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->server.peer_tls.enabled());
  EXPECT_EQ(c->server.peer_tls.key_file, "p.key");
  EXPECT_EQ(c->server.peer_tls.trusted_ca_file, "ca.pem");
  EXPECT_FALSE(c->server.client_tls.enabled()) << "the client port is configured on its own";
  EXPECT_FALSE(ParseCommandLine({}).value().server.peer_tls.enabled()) << "off by default";
  for (const auto& partial : std::vector<std::vector<std::string>>{
           {"--peer-cert-file", "p.pem", "--peer-key-file", "p.key"},
           {"--peer-trusted-ca-file", "ca.pem"},
           {"--peer-cert-file", "p.pem", "--peer-trusted-ca-file", "ca.pem"}}) {
    auto bad = ParseCommandLine(partial);
    ASSERT_FALSE(bad.ok()) << partial[0];
    EXPECT_NE(bad.status().message().find("go together"), std::string::npos) << bad.status();
  }
}

TEST(ConfigTest, BadFlagsAreClearErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--bogus", "1"},
           {"--listen-client", "nohost"},
           {"--initial-cluster", "a=127.0.0.1:1,a=127.0.0.1:2", "--name", "a"},
           {"--initial-cluster", "x=127.0.0.1:1"},  // does not contain "default"
           {"--tick-ms", "abc"},
           {"--name"},
       }) {
    auto c = ParseCommandLine(args);
    ASSERT_FALSE(c.ok()) << args[0];
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ConfigTest, ConfigTextWithComments) {
  CoorddConfig c;
  ASSERT_TRUE(
      ApplyConfigText("# comment\nname = n1\n\nlisten-client = 127.0.0.5:9 # x\n", &c).ok());
  EXPECT_EQ(c.server.name, "n1");
  EXPECT_EQ(c.server.listen_client, "127.0.0.5:9");
  Status bad = ApplyConfigText("name n1\n", &c);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("line 1"), std::string::npos);
}

TEST(IdentityTest, IdsAreDeterministicAndDistinct) {
  EXPECT_EQ(MemberIdFromName("a"), MemberIdFromName("a"));
  EXPECT_NE(MemberIdFromName("a"), MemberIdFromName("b"));
  EXPECT_NE(MemberIdFromName("a"), 0u);
  EXPECT_NE(ClusterIdFromToken("a"), MemberIdFromName("a"));
}

TEST(IdentityTest, DataDirOfAnotherMemberIsRefused) {
  const std::string dir = ::testing::TempDir() + "/coord-identity-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const MemberIdentity a{1, "a", MemberIdFromName("a")};
  ASSERT_TRUE(CheckOrWriteIdentity(dir, a).ok());
  ASSERT_TRUE(CheckOrWriteIdentity(dir, a).ok());
  Status other = CheckOrWriteIdentity(dir, MemberIdentity{1, "b", MemberIdFromName("b")});
  EXPECT_EQ(other.code(), StatusCode::kPermissionDenied);
  Status cluster = CheckOrWriteIdentity(dir, MemberIdentity{2, "a", MemberIdFromName("a")});
  EXPECT_EQ(cluster.code(), StatusCode::kPermissionDenied);
  auto lock = DirLock::Acquire(dir);
  ASSERT_TRUE(lock.ok());
  // flock locks are per open file description: a second Acquire in this process
  // conflicts too.
  auto second = DirLock::Acquire(dir);
  EXPECT_FALSE(second.ok());
  std::filesystem::remove_all(dir);
}

TEST(IdentityTest, ParseRejectsGarbage) {
  EXPECT_FALSE(ParseIdentity("hello").ok());
  EXPECT_FALSE(ParseIdentity("cluster_id=x\nname=a\nmember_id=1\n").ok());
  auto ok = ParseIdentity(FormatIdentity(MemberIdentity{5, "n", 6}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->member_id, 6u);
}

}  // namespace
}  // namespace coord::server
