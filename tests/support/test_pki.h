// TestPki: certificates for the TLS tests, made fresh by the openssl CLI in a
// directory of the test's own (never shared, never checked in).
//
// A CA; a member certificate signed by it for 127.0.0.1-127.0.0.9 and
// "localhost" (IP and DNS SANs, serverAuth and clientAuth); a client
// certificate (CN "alice", clientAuth); and a second, unrelated CA with a client
// certificate of its own, for the refusals. EC P-256 keys, valid for two days.
// Peer certificates for named members (MakePeerCertificate) on demand.
#pragma once

#include <string>

#include "coord/status.h"

namespace coord::test {

struct TestPki {
  std::string dir;
  std::string ca_cert;
  std::string member_cert, member_key;
  std::string client_cert, client_key;
  std::string other_ca_cert;
  std::string other_client_cert, other_client_key;

  // Creates everything under `dir` (made if missing). Errors: kIOError with the
  // failing openssl command.
  static Result<TestPki> Create(const std::string& dir);

  struct KeyPair {
    std::string cert, key;
  };
  // A peer certificate naming member `name` (DNS SAN and CN, serverAuth and
  // clientAuth), signed by this PKI's CA or, with `other_ca`, by the unrelated
  // one. Files dir/peer-<name>[-other].{pem,key}.
  Result<KeyPair> MakePeerCertificate(const std::string& name, bool other_ca = false) const;
};

}  // namespace coord::test
