#include "transport/peer_auth.h"

#include "coord/crypto.h"

namespace coord::raft::transport {
namespace {

void AppendBigEndian(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

}  // namespace

std::string MakeNonce() { return crypto::RandomBytes(kNonceBytes); }

std::string HelloProof(const std::string& secret, const std::string& nonce, NodeId from, NodeId to,
                       uint64_t cluster_id) {
  std::string message = "coord-peer-hello-v1";
  message += nonce;
  AppendBigEndian(&message, from);
  AppendBigEndian(&message, to);
  AppendBigEndian(&message, cluster_id);
  return crypto::HmacSha256(secret, message);
}

bool ProofMatches(const std::string& secret, const std::string& nonce, NodeId from, NodeId to,
                  uint64_t cluster_id, const std::string& proof) {
  const std::string expected = HelloProof(secret, nonce, from, to, cluster_id);
  return !expected.empty() && crypto::ConstantTimeEquals(proof, expected);
}

}  // namespace coord::raft::transport
