// Mutual TLS on the peer port, on a real ensemble of its own: the members
// replicate over it, and the peer port refuses (and counts) a plaintext peer, a
// certificate from another CA, a member's certificate used to claim another
// member, and the certificate of a member removed from the configuration. The
// certificates are made fresh for the test (test_pki.h). SIGHUP re-reads them.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "coord/server/server.h"
#include "raw_peer.h"
#include "test_pki.h"
#include "test_util.h"

namespace coord::test {
namespace {

TEST(PeerTls, MembersUseMutualTlsAndRefuseStrangersAndRemovedMembers) {
  const std::string dir = ::testing::TempDir() + "peer-tls-" + std::to_string(::getpid());
  auto pki = TestPki::Create(dir);
  ASSERT_TRUE(pki.ok()) << pki.status();
  std::map<std::string, TestPki::KeyPair> certs;
  for (const std::string name : {"m1", "m2", "m3"}) {
    auto pair = pki->MakePeerCertificate(name);
    ASSERT_TRUE(pair.ok()) << pair.status();
    certs[name] = *pair;
  }
  auto foreign = pki->MakePeerCertificate("m2", /*other_ca=*/true);
  ASSERT_TRUE(foreign.ok()) << foreign.status();

  const std::string secret = "peer-tls-test-secret";
  Ensemble e(3, 30);
  e.set_extra_args({"--cluster-token", secret});
  e.set_member_args([&](int i) -> std::vector<std::string> {
    const TestPki::KeyPair& own = certs.at(e.member(i).name);
    return {"--peer-cert-file", own.cert, "--peer-key-file", own.key, "--peer-trusted-ca-file",
            pki->ca_cert};
  });
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  // Writes through followers are forwarded and replicated over the TLS links.
  for (int i = 0; i < 3; ++i) ExpectWritable(e, i, "/tls/" + std::to_string(i));
  const int victim = (*leader + 1) % 3;
  const int other = (*leader + 2) % 3;
  const std::string& port = e.member(victim).peer_address;
  const uint64_t cluster = server::ClusterIdFromToken(secret);
  const double refused_before = Metric(e, victim, "coord_peer_connections_refused_total");

  {
    // Plaintext, even with the right secret: the member expects a TLS hello.
    RawPeer peer(port);
    ASSERT_TRUE(peer.ok());
    ASSERT_TRUE(peer.WriteFrame(Heartbeat(IdOf(e, *leader), IdOf(e, victim), cluster, 1)));
    EXPECT_TRUE(peer.WaitClosed(10s));
  }
  {
    // A certificate for "m2" from another CA. Under TLS 1.3 the client may
    // finish its side before the member's refusal arrives; nothing gets past it.
    RawPeer peer(port, foreign->cert, foreign->key, pki->other_ca_cert);
    EXPECT_FALSE(peer.ok() && peer.Handshake(server::MemberIdFromName("m2"), IdOf(e, victim),
                                             cluster, secret));
  }
  {
    // A valid member certificate, used to claim to be the leader.
    const TestPki::KeyPair& others = certs.at(e.member(other).name);
    RawPeer peer(port, others.cert, others.key, pki->ca_cert);
    ASSERT_TRUE(peer.ok());
    ASSERT_TRUE(peer.Handshake(IdOf(e, *leader), IdOf(e, victim), cluster, secret));
    EXPECT_TRUE(peer.WaitClosed(10s));
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return ReadFile(e.log_path(victim)).find("certificate of another member") !=
               std::string::npos;
      },
      10s));

  // Remove `other`; its own certificate, secret and id no longer get in.
  {
    auto c = WsClient::Connect(e.member(*leader).client_address);
    ASSERT_TRUE(c.ok()) << c.status();
    Request remove;
    remove.mutable_member_remove()->set_name(e.member(other).name);
    auto r = (*c)->Call(remove);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(Ok(*r)) << r->DebugString();
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        const TestPki::KeyPair& others = certs.at(e.member(other).name);
        RawPeer peer(port, others.cert, others.key, pki->ca_cert);
        return peer.ok() && peer.Handshake(IdOf(e, other), IdOf(e, victim), cluster, secret) &&
               peer.WaitClosed(10s) &&
               ReadFile(e.log_path(victim)).find("is not in the configuration") !=
                   std::string::npos;
      },
      20s));
  EXPECT_GE(Metric(e, victim, "coord_peer_connections_refused_total"), refused_before + 4);
  ExpectWritable(e, victim, "/tls/after-removal");

  // SIGHUP re-reads the peer certificates without a restart.
  ASSERT_EQ(::kill(e.member(victim).pid, SIGHUP), 0);
  EXPECT_TRUE(WaitFor(
      [&] { return ReadFile(e.log_path(victim)).find("certificates reloaded") != std::string::npos; },
      10s));
  ExpectWritable(e, victim, "/tls/after-reload");
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace coord::test
