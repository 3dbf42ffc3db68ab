// TcpTransport with peer TLS between real transports on loopback: traffic over
// mutual TLS, and the refusals — a certificate from another CA, the certificate
// of another member, a member removed from the configuration, a plaintext peer —
// each counted. Certificates are made fresh for the suite (test_pki.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "consensus/transport/transport_test_util.h"
#include "coord/consensus/tcp_transport.h"
#include "test_pki.h"

namespace coord::raft::testing {
namespace {

using coord::test::TestPki;

// Certificate names "m1".."m9" stand for members 1..9.
NodeId MemberOfName(const std::string& name) {
  if (name.size() == 2 && name[0] == 'm' && name[1] >= '1' && name[1] <= '9') {
    return static_cast<NodeId>(name[1] - '0');
  }
  return kNoNode;
}

class TcpTransportTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = ::testing::TempDir() + "transport-tls-" + std::to_string(::getpid());
    auto pki = TestPki::Create(dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(std::move(*pki));
    certs_ = new std::map<std::string, TestPki::KeyPair>();
    for (const std::string name : {"m1", "m2", "m3"}) {
      auto pair = pki_->MakePeerCertificate(name);
      ASSERT_TRUE(pair.ok()) << pair.status();
      (*certs_)[name] = *pair;
    }
    auto other = pki_->MakePeerCertificate("m2", /*other_ca=*/true);
    ASSERT_TRUE(other.ok()) << other.status();
    (*certs_)["m2-other"] = *other;
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    if (pki_) std::filesystem::remove_all(pki_->dir, ignored);
    delete pki_;
    delete certs_;
    pki_ = nullptr;
    certs_ = nullptr;
  }

  // Options of member `id` presenting certificate `cert` and trusting `ca`.
  static TcpTransportOptions TlsOptions(NodeId id, const std::string& cert,
                                        const std::string& ca = "") {
    TcpTransportOptions o = Options(id);
    o.secret = "cluster-secret";
    o.tls.cert_file = certs_->at(cert).cert;
    o.tls.key_file = certs_->at(cert).key;
    o.tls.trusted_ca_file = ca.empty() ? pki_->ca_cert : ca;
    o.member_of_certificate_name = MemberOfName;
    return o;
  }
  static TcpTransportOptions TlsOptions(NodeId id) {
    return TlsOptions(id, "m" + std::to_string(id));
  }

  static TestPki* pki_;
  static std::map<std::string, TestPki::KeyPair>* certs_;
};

TestPki* TcpTransportTlsTest::pki_ = nullptr;
std::map<std::string, TestPki::KeyPair>* TcpTransportTlsTest::certs_ = nullptr;

TEST_F(TcpTransportTlsTest, MembersExchangeMessagesOverMutualTls) {
  auto a = StartNode(TlsOptions(1));
  auto b = StartNode(TlsOptions(2));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());

  a->transport->Send(MakeMessage(1, 2, 10, pb::MSG_VOTE));
  b->transport->Send(MakeMessage(2, 1, 20, pb::MSG_VOTE_RESP));
  // Larger than one TLS record and one read chunk: framing across both.
  a->transport->SendApp(2, std::string(300 * 1024, 'x'));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  ASSERT_TRUE(b->inbox.WaitApps(1));
  ASSERT_TRUE(a->inbox.WaitMessages(1));
  EXPECT_EQ(b->inbox.messages()[0].index(), 10u);
  EXPECT_EQ(a->inbox.messages()[0].index(), 20u);
  EXPECT_EQ(b->inbox.apps()[0].payload.size(), 300u * 1024);
  EXPECT_EQ(a->transport->stats().refused, 0u);
  EXPECT_EQ(b->transport->stats().refused, 0u);
}

TEST_F(TcpTransportTlsTest, CertificateFromAnotherCaIsRefused) {
  auto a = StartNode(TlsOptions(1));
  // Member 2's certificate is signed by another CA (which it trusts itself).
  auto b = StartNode(TlsOptions(2, "m2-other", pki_->other_ca_cert));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  b->transport->Send(MakeMessage(2, 1, 1));
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().refused >= 2; }));
  ASSERT_TRUE(PollUntil([&] { return b->transport->stats().refused >= 2; }));
  EXPECT_TRUE(a->inbox.messages().empty());
  EXPECT_TRUE(b->inbox.messages().empty());
  EXPECT_EQ(a->transport->stats().connects, 0u);
}

TEST_F(TcpTransportTlsTest, CertificateOfAnotherMemberIsRefused) {
  auto a = StartNode(TlsOptions(1));
  // Claims to be member 2 but holds member 3's (valid) certificate.
  auto b = StartNode(TlsOptions(2, "m3"));
  a->transport->AddPeer(2, b->address());
  a->transport->AddPeer(3, b->address());
  b->transport->AddPeer(1, a->address());
  b->transport->Send(MakeMessage(2, 1, 1));
  // a refuses b's hello as member 2, and will not write to "member 2" at b.
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().refused >= 2; }));
  ASSERT_TRUE(a->inbox.WaitUnreachable(2));
  EXPECT_TRUE(a->inbox.messages().empty());
  EXPECT_TRUE(b->inbox.messages().empty());
}

TEST_F(TcpTransportTlsTest, RemovedMemberIsRefused) {
  auto a = StartNode(TlsOptions(1));
  auto c = StartNode(TlsOptions(3));
  a->transport->AddPeer(3, c->address());
  c->transport->AddPeer(1, a->address());
  c->transport->Send(MakeMessage(3, 1, 1));
  ASSERT_TRUE(a->inbox.WaitMessages(1));

  a->transport->RemovePeer(3);
  const uint64_t refused = a->transport->stats().refused;
  // Its connection was closed; it reconnects with a valid certificate and the
  // right secret, and is refused for not being a member any more.
  ASSERT_TRUE(PollUntil([&] {
    c->transport->Send(MakeMessage(3, 1, 2));
    return a->transport->stats().refused >= refused + 2;
  }));
  EXPECT_EQ(a->inbox.messages().size(), 1u);
}

TEST_F(TcpTransportTlsTest, PlaintextPeerIsRefused) {
  auto a = StartNode(TlsOptions(1));
  // A member without TLS: its TCP connection never gets a challenge.
  TcpTransportOptions plain = Options(2);
  plain.secret = "cluster-secret";
  auto b = StartNode(plain);
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  b->transport->Send(MakeMessage(2, 1, 1));
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().refused >= 1; }));
  ASSERT_TRUE(PollUntil([&] { return b->transport->stats().refused >= 1; }));
  EXPECT_TRUE(a->inbox.messages().empty());
  EXPECT_TRUE(b->inbox.messages().empty());

  // Raw plaintext bytes on the TLS port: the connection is closed and counted.
  const uint64_t before = a->transport->stats().refused;
  RawClient raw("127.0.0.1", a->transport->port());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw.Write(RawFrame(std::string(64, 'j'))));
  EXPECT_TRUE(raw.WaitClosed());
  EXPECT_TRUE(PollUntil([&] { return a->transport->stats().refused > before; }));
}

// The pre-handshake limits hold with TLS on: a connection that never starts the
// TLS handshake is closed at the handshake deadline, and the oldest pending
// handshake makes room for a real member once the cap is reached.
TEST_F(TcpTransportTlsTest, SilentConnectionsAndThePendingCapHoldUnderTls) {
  TcpTransportOptions quick = TlsOptions(2);
  quick.handshake_timeout = 300ms;
  auto b = StartNode(quick);
  RawClient silent("127.0.0.1", b->transport->port());
  ASSERT_TRUE(silent.ok());
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.WaitClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  EXPECT_TRUE(PollUntil([&] { return b->transport->stats().refused >= 1; }));

  // A member whose deadline is long: only the cap can make room. Two junk
  // connections fill it; a real member still gets in over TLS, and the oldest
  // junk connection goes long before its deadline.
  TcpTransportOptions capped = TlsOptions(3);
  capped.handshake_timeout = 30s;
  capped.max_pending_handshakes = 2;
  auto c = StartNode(capped);
  auto a = StartNode(TlsOptions(1));
  std::vector<std::unique_ptr<RawClient>> junk;
  for (int i = 1; i <= 2; ++i) {
    junk.push_back(std::make_unique<RawClient>("127.0.0.1", c->transport->port()));
    ASSERT_TRUE(PollUntil(
        [&] { return c->transport->stats().accepted == static_cast<uint64_t>(i); }));
  }
  const auto joined = std::chrono::steady_clock::now();
  c->transport->AddPeer(1, a->address());
  a->transport->AddPeer(3, c->address());
  a->transport->Send(MakeMessage(1, 3, 7));
  ASSERT_TRUE(c->inbox.WaitMessages(1));
  EXPECT_TRUE(junk[0]->WaitClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - joined, 10s) << "evicted, not timed out";
  EXPECT_GE(c->transport->stats().refused, 1u);
}

TEST_F(TcpTransportTlsTest, ReloadTlsAppliesToNewConnectionsAndKeepsOldFilesOnError) {
  // Member 1 reads its files from paths of its own, so they can be replaced.
  const std::string dir = pki_->dir + "/reload";
  std::filesystem::create_directories(dir);
  const std::string cert = dir + "/m1.pem", key = dir + "/m1.key";
  std::filesystem::copy_file(certs_->at("m1").cert, cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(certs_->at("m1").key, key,
                             std::filesystem::copy_options::overwrite_existing);
  TcpTransportOptions options = TlsOptions(1);
  options.tls.cert_file = cert;
  options.tls.key_file = key;
  auto a = StartNode(options);

  // A renewed certificate (same name, same CA) is picked up.
  auto renewed = pki_->MakePeerCertificate("m1");
  ASSERT_TRUE(renewed.ok());
  std::filesystem::copy_file(renewed->cert, cert, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed->key, key, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(a->transport->ReloadTls().ok());

  // A broken file is refused and the renewed certificate stays in use.
  { std::ofstream(cert, std::ios::trunc) << "not a certificate"; }
  Status broken = a->transport->ReloadTls();
  EXPECT_TRUE(broken.code() == StatusCode::kInvalidArgument) << broken;
  EXPECT_NE(broken.message().find(cert), std::string::npos) << broken;

  auto b = StartNode(TlsOptions(2));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  b->transport->Send(MakeMessage(2, 1, 7));
  a->transport->Send(MakeMessage(1, 2, 8));
  ASSERT_TRUE(a->inbox.WaitMessages(1));
  ASSERT_TRUE(b->inbox.WaitMessages(1));

  auto plain = StartNode(Options(3));
  EXPECT_TRUE(plain->transport->ReloadTls().code() == StatusCode::kInvalidArgument);
}

TEST_F(TcpTransportTlsTest, StartValidatesTlsOptions) {
  TcpTransportOptions no_mapping = TlsOptions(1);
  no_mapping.member_of_certificate_name = nullptr;
  TcpTransport t1(no_mapping);
  EXPECT_TRUE(t1.Start({}).code() == StatusCode::kInvalidArgument);

  TcpTransportOptions no_ca = TlsOptions(1);
  no_ca.tls.trusted_ca_file.clear();
  TcpTransport t2(no_ca);
  EXPECT_TRUE(t2.Start({}).code() == StatusCode::kInvalidArgument);

  TcpTransportOptions missing = TlsOptions(1);
  missing.tls.key_file = pki_->dir + "/no-such.key";
  TcpTransport t3(missing);
  Status s = t3.Start({});
  EXPECT_TRUE(s.code() == StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("no-such.key"), std::string::npos) << s;
}

}  // namespace
}  // namespace coord::raft::testing
