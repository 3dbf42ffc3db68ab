#include "test_pki.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace coord::test {

namespace {

Status Run(const std::string& command) {
  const std::string quiet = command + " > /dev/null 2>&1";
  if (std::system(quiet.c_str()) != 0) return Status::IOError("failed: " + command);
  return Status::Ok();
}

std::string NewKey(const std::string& key) {
  return "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + key;
}

// A self-signed CA certificate and key.
Status MakeCa(const std::string& dir, const std::string& name) {
  COORD_RETURN_IF_ERROR(Run(NewKey(dir + "/" + name + ".key")));
  return Run("openssl req -x509 -new -key " + dir + "/" + name + ".key -out " + dir + "/" + name +
             ".pem -days 2 -subj /CN=" + name);
}

// A certificate for `cn` signed by CA `ca`, with the extensions in `ext`.
Status MakeLeaf(const std::string& dir, const std::string& ca, const std::string& name,
                const std::string& cn, const std::string& ext) {
  const std::string base = dir + "/" + name;
  {
    std::ofstream out(base + ".ext");
    out << ext;
  }
  COORD_RETURN_IF_ERROR(Run(NewKey(base + ".key")));
  COORD_RETURN_IF_ERROR(
      Run("openssl req -new -key " + base + ".key -out " + base + ".csr -subj /CN=" + cn));
  return Run("openssl x509 -req -in " + base + ".csr -CA " + dir + "/" + ca + ".pem -CAkey " +
             dir + "/" + ca + ".key -CAcreateserial -out " + base + ".pem -days 2 -extfile " +
             base + ".ext");
}

}  // namespace

Result<TestPki> TestPki::Create(const std::string& dir) {
  ::mkdir(dir.c_str(), 0700);
  std::string sans = "subjectAltName=DNS:localhost";
  for (int i = 1; i <= 9; ++i) sans += ",IP:127.0.0." + std::to_string(i);
  COORD_RETURN_IF_ERROR(MakeCa(dir, "ca"));
  COORD_RETURN_IF_ERROR(MakeLeaf(dir, "ca", "member", "coord-member",
                                 sans + "\nextendedKeyUsage=serverAuth,clientAuth\n"));
  COORD_RETURN_IF_ERROR(
      MakeLeaf(dir, "ca", "client", "alice", "extendedKeyUsage=clientAuth\n"));
  COORD_RETURN_IF_ERROR(MakeCa(dir, "other-ca"));
  COORD_RETURN_IF_ERROR(
      MakeLeaf(dir, "other-ca", "other-client", "mallory", "extendedKeyUsage=clientAuth\n"));
  TestPki pki;
  pki.dir = dir;
  pki.ca_cert = dir + "/ca.pem";
  pki.member_cert = dir + "/member.pem";
  pki.member_key = dir + "/member.key";
  pki.client_cert = dir + "/client.pem";
  pki.client_key = dir + "/client.key";
  pki.other_ca_cert = dir + "/other-ca.pem";
  pki.other_client_cert = dir + "/other-client.pem";
  pki.other_client_key = dir + "/other-client.key";
  return pki;
}

Result<TestPki::KeyPair> TestPki::MakePeerCertificate(const std::string& name,
                                                       bool other_ca) const {
  const std::string file = "peer-" + name + (other_ca ? "-other" : "");
  COORD_RETURN_IF_ERROR(MakeLeaf(dir, other_ca ? "other-ca" : "ca", file, name,
                                 "subjectAltName=DNS:" + name +
                                     "\nextendedKeyUsage=serverAuth,clientAuth\n"));
  return KeyPair{dir + "/" + file + ".pem", dir + "/" + file + ".key"};
}

}  // namespace coord::test
