// TLS on the client port, on a real 3-member ensemble of its own with mutual TLS
// (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth), certificates
// made fresh by the test: a client with the CA and its certificate works through
// failover; a plaintext client, a client that does not trust the member's CA, a
// client without a certificate and one with a certificate of another CA are all
// refused and never get an answer (and are counted); /healthz and /metrics are
// HTTPS only; coordctl speaks TLS; unusable files stop coordd at start; SIGHUP
// rotates the certificate while clients stay connected.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "cluster.h"
#include "coord/client/client.h"
#include "env.h"
#include "test_pki.h"
#include "test_process.h"

namespace coord::test {
namespace {

using namespace std::chrono_literals;

class ClientTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensemble_ = new Ensemble(3, 30);
    auto pki = TestPki::Create(ensemble_->root() + "/pki");
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = new TestPki(*pki);
    ensemble_->set_extra_args({"--cert-file", pki_->member_cert, "--key-file", pki_->member_key,
                               "--trusted-ca-file", pki_->ca_cert, "--client-cert-auth", "true"});
    // Up when a client with the right certificate can ask it something.
    ensemble_->set_ready_check([](const std::string& address) {
      auto client = Make(address, Good());
      return client != nullptr && client->WaitConnected(200ms).ok();
    });
    const Status started = ensemble_->StartAll();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  static void TearDownTestSuite() {
    delete ensemble_;
    delete pki_;
  }

  static ClientOptions Good() {
    ClientOptions o;
    o.ca_file = pki_->ca_cert;
    o.cert_file = pki_->client_cert;
    o.key_file = pki_->client_key;
    return o;
  }
  static std::unique_ptr<Client> Make(const std::string& endpoints, ClientOptions o) {
    o.endpoints = endpoints;
    o.connect_timeout = 500ms;
    auto c = Client::Create(o);
    return c.ok() ? std::move(*c) : nullptr;
  }
  static std::string Endpoints() {
    std::string out;
    for (int i = 0; i < 3; ++i) out += (i ? "," : "") + ensemble_->member(i).client_address;
    return out;
  }
  // A client with `o` never gets an answer: its calls fail without a reply.
  static void ExpectRefused(ClientOptions o, const char* who) {
    auto client = Make(Endpoints(), o);
    ASSERT_NE(client, nullptr) << who;
    auto put = client->Put("/tls/refused", who, 0, 1500ms);
    EXPECT_FALSE(put.ok()) << who;
    EXPECT_TRUE(put.status().code() == StatusCode::kUnavailable ||
                put.status().code() == StatusCode::kTimeout)
        << who << ": " << put.status().ToString();
    EXPECT_EQ(client->connection_count(), 0u) << who << " must never connect";
  }

  static Ensemble* ensemble_;
  static TestPki* pki_;
};

Ensemble* ClientTls::ensemble_ = nullptr;
TestPki* ClientTls::pki_ = nullptr;

TEST_F(ClientTls, AClientWithTheCaAndItsCertificateWorksThroughFailover) {
  auto client = Make(Endpoints(), Good());
  ASSERT_NE(client, nullptr);
  auto put = client->Put("/tls/a", "1");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto got = client->Get("/tls/a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value(), "1");

  // The member it talks to dies: it reconnects (TLS again) to another.
  const int connected = client->connected_endpoint();
  ASSERT_GE(connected, 0);
  ensemble_->Kill(connected);
  auto after = client->Put("/tls/a", "2", 0, 10s);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_GE(client->connection_count(), 2u);
  ASSERT_TRUE(ensemble_->Start(connected).ok());
}

TEST_F(ClientTls, PlaintextAndUntrustedClientsAreRefused) {
  ExpectRefused(ClientOptions(), "a plaintext client");
  ClientOptions no_cert = Good();
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  ExpectRefused(no_cert, "a client without a certificate");
  ClientOptions other = Good();
  other.cert_file = pki_->other_client_cert;
  other.key_file = pki_->other_client_key;
  ExpectRefused(other, "a client with another CA's certificate");
  ClientOptions distrust = Good();
  distrust.ca_file = pki_->other_ca_cert;
  ExpectRefused(distrust, "a client that does not trust the member's CA");
  // Nothing of theirs was written.
  auto client = Make(Endpoints(), Good());
  auto got = client->Get("/tls/refused");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
}

#ifdef COORDCTL_PATH
TEST_F(ClientTls, CoordctlSpeaksTlsWithItsCertificate) {
  const std::vector<std::string> tls = {"--endpoints", Endpoints(), "--cacert", pki_->ca_cert,
                                        "--cert", pki_->client_cert, "--key", pki_->client_key};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), tls.begin(), tls.end());
    return args;
  };
  const ChildResult put = RunChild(COORDCTL_PATH, with({"put", "/tls/ctl", "v1"}));
  EXPECT_EQ(put.exit_code, 0) << put.out << put.err;
  const ChildResult get = RunChild(COORDCTL_PATH, with({"get", "/tls/ctl"}));
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_NE(get.out.find("v1"), std::string::npos) << get.out;
  // Without its certificate the same command cannot reach the ensemble.
  const ChildResult refused =
      RunChild(COORDCTL_PATH, {"--endpoints", Endpoints(), "--cacert", pki_->ca_cert,
                               "--timeout", "1s", "get", "/tls/ctl"});
  EXPECT_EQ(refused.exit_code, 5) << refused.out << refused.err;
}
#endif

// The HTTP endpoints are HTTPS too, behind the same client-certificate check;
// the refusals above were counted.
TEST_F(ClientTls, HttpEndpointsAreServedOverHttpsOnly) {
  const std::string curl = "/usr/bin/curl";  // scripts/install-deps.sh installs it
  ASSERT_TRUE(std::filesystem::exists(curl));
  const std::string base = "https://" + ensemble_->member(0).client_address;
  const ChildResult health =
      RunChild(curl, {"-sS", "--cacert", pki_->ca_cert, "--cert", pki_->client_cert, "--key",
                      pki_->client_key, base + "/healthz"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "ok\n");
  const ChildResult metrics =
      RunChild(curl, {"-sS", "--cacert", pki_->ca_cert, "--cert", pki_->client_cert, "--key",
                      pki_->client_key, base + "/metrics"});
  const std::string name = "coord_client_tls_handshake_failures_total ";
  const size_t at = metrics.out.find("\n" + name);
  ASSERT_NE(at, std::string::npos) << metrics.out.substr(0, 2000);
  EXPECT_GT(std::stod(metrics.out.substr(at + 1 + name.size())), 0) << "the refused clients";
  const ChildResult no_cert = RunChild(curl, {"-sS", "--cacert", pki_->ca_cert, base + "/healthz"});
  EXPECT_NE(no_cert.exit_code, 0) << "mutual TLS also guards HTTP: " << no_cert.out;
  const ChildResult plain = RunChild(
      curl, {"-sS", "http://" + ensemble_->member(0).client_address + "/healthz"});
  EXPECT_NE(plain.exit_code, 0) << "no plaintext HTTP on a TLS port: " << plain.out;
}

TEST_F(ClientTls, BadTlsFilesAreRefusedAtCreate) {
  ClientOptions o = Good();
  o.endpoints = Endpoints();
  o.ca_file = pki_->dir + "/missing.pem";
  EXPECT_EQ(Client::Create(o).status().code(), StatusCode::kInvalidArgument);
  o = Good();
  o.endpoints = Endpoints();
  o.key_file.clear();
  EXPECT_EQ(Client::Create(o).status().code(), StatusCode::kInvalidArgument);
  o = Good();
  o.endpoints = Endpoints();
  o.key_file = pki_->member_key;  // not the key of client_cert
  EXPECT_EQ(Client::Create(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ClientTls, AMemberWithUnusableTlsFilesDoesNotStart) {
  const std::string dir = ensemble_->root() + "/bad-tls";
  auto [missing, err] = Ensemble::RunToExit(
      {"--name", "x", "--data-dir", dir, "--listen-client", "127.0.0.1:0", "--listen-peer",
       "127.0.0.1:0", "--cert-file", pki_->dir + "/missing.pem", "--key-file", pki_->member_key},
      10s);
  EXPECT_EQ(missing, 2) << err;
  EXPECT_NE(err.find("missing.pem"), std::string::npos) << err;
  auto [mismatch, err2] = Ensemble::RunToExit(
      {"--name", "x", "--data-dir", dir, "--listen-client", "127.0.0.1:0", "--listen-peer",
       "127.0.0.1:0", "--cert-file", pki_->member_cert, "--key-file", pki_->client_key},
      10s);
  EXPECT_EQ(mismatch, 2) << err2;
  EXPECT_NE(err2.find(pki_->client_key), std::string::npos) << "names the key that does not fit: "
                                                            << err2;
}

// Last in the suite: it replaces the members' certificate files.
// With auth on, a verified client certificate's name stands for a user: the
// test PKI's client certificate names "alice". Auth is turned off again after.
TEST_F(ClientTls, ACertificateNameStandsForAUserWhenAuthIsOn) {
  auto call = [](Client& c, coord::v1::Request r) { return c.Call(r, 5s); };
  auto user = [](coord::v1::UserChangeRequest::Op op, const std::string& name,
                 const std::string& password, const std::string& role) {
    coord::v1::Request r;
    r.mutable_user_change()->set_op(op);
    r.mutable_user_change()->set_name(name);
    r.mutable_user_change()->set_password(password);
    r.mutable_user_change()->set_role(role);
    return r;
  };
  using Op = coord::v1::UserChangeRequest;
  auto by_cert = Make(Endpoints(), Good());
  ASSERT_NE(by_cert, nullptr);
  ASSERT_TRUE(by_cert->Put("/tls/auth/x", "before").ok());
  ASSERT_TRUE(call(*by_cert, user(Op::ADD, "root", "root-pw", "")).ok());
  ASSERT_TRUE(call(*by_cert, user(Op::GRANT_ROLE, "root", "", "root")).ok());
  coord::v1::Request role;
  role.mutable_role_change()->set_name("tls-reader");
  ASSERT_TRUE(call(*by_cert, role).ok());
  role.mutable_role_change()->set_op(coord::v1::RoleChangeRequest::GRANT);
  role.mutable_role_change()->mutable_permission()->set_prefix("/tls/auth/");
  ASSERT_TRUE(call(*by_cert, role).ok());
  ASSERT_TRUE(call(*by_cert, user(Op::ADD, "alice", "unused-pw", "")).ok());
  ASSERT_TRUE(call(*by_cert, user(Op::GRANT_ROLE, "alice", "", "tls-reader")).ok());
  coord::v1::Request enable;
  enable.mutable_auth_set()->set_enabled(true);
  ASSERT_TRUE(call(*by_cert, enable).ok());

  // The same connection is alice now: she reads /tls/auth/ and writes nothing.
  auto got = by_cert->Get("/tls/auth/x");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)->value(), "before");
  auto put = by_cert->Put("/tls/auth/x", "alice");
  EXPECT_EQ(put.status().code(), StatusCode::kPermissionDenied) << put.status().ToString();
  coord::v1::Request status;
  status.mutable_auth_status();
  auto who = call(*by_cert, status);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->auth_status().user(), "alice");

  // A password login on a certificate connection is that user instead.
  ClientOptions root_options = Good();
  root_options.user = "root";
  root_options.password = "root-pw";
  auto root = Make(Endpoints(), root_options);
  ASSERT_TRUE(root->Put("/tls/auth/x", "root").ok());
  coord::v1::Request disable;
  disable.mutable_auth_set()->set_enabled(false);
  ASSERT_TRUE(call(*root, disable).ok());
  EXPECT_TRUE(by_cert->Put("/tls/auth/x", "open again").ok());
}

TEST_F(ClientTls, SighupReloadsTheCertificateWhileClientsStayConnected) {
  auto old_client = Make(Endpoints(), Good());
  ASSERT_TRUE(old_client->Put("/tls/reload", "before").ok());
  const uint64_t connections = old_client->connection_count();

  // A new member certificate from another CA, written over the old files.
  auto next = TestPki::Create(ensemble_->root() + "/pki-next");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  std::filesystem::copy_file(next->member_cert, pki_->member_cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(next->member_key, pki_->member_key,
                             std::filesystem::copy_options::overwrite_existing);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::kill(ensemble_->member(i).pid, SIGHUP), 0);

  // New connections present the new certificate: a client trusting only the
  // new CA gets in (its own certificate is still checked against the old CA).
  ClientOptions trusts_next = Good();
  trusts_next.ca_file = next->ca_cert;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = Make(Endpoints(), trusts_next);
        return c != nullptr && c->Put("/tls/reload", "after", 0, 1s).ok();
      },
      10s));
  ExpectRefused(Good(), "a new client trusting only the replaced CA");
  // The connection made before the reload was never dropped.
  EXPECT_TRUE(old_client->Put("/tls/reload", "still").ok());
  EXPECT_EQ(old_client->connection_count(), connections);

  // A bad file on reload: the member keeps what it has.
  { std::ofstream(pki_->member_cert, std::ios::trunc) << "not a certificate\n"; }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::kill(ensemble_->member(i).pid, SIGHUP), 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::ifstream log(ensemble_->log_path(0));
        std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        return text.find("TLS files not reloaded") != std::string::npos;
      },
      10s));
  auto c = Make(Endpoints(), trusts_next);
  EXPECT_TRUE(c->Put("/tls/reload", "kept", 0, 3s).ok()) << "the previous certificate still serves";
}

}  // namespace
}  // namespace coord::test
