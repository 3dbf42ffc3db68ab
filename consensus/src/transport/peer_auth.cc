#include "transport/peer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <random>

namespace coord::raft::transport {
namespace {

void AppendBigEndian(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

}  // namespace

std::string MakeNonce() {
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(kNonceBytes)) !=
      1) {
    // OpenSSL's generator failed (no entropy): fall back to the OS device rather
    // than accept every hello with a predictable nonce.
    std::random_device device;
    for (char& c : nonce) c = static_cast<char>(device());
  }
  return nonce;
}

std::string HelloProof(const std::string& secret, const std::string& nonce, NodeId from, NodeId to,
                       uint64_t cluster_id) {
  std::string message = "coord-peer-hello-v1";
  message += nonce;
  AppendBigEndian(&message, from);
  AppendBigEndian(&message, to);
  AppendBigEndian(&message, cluster_id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // An empty secret is a valid (if weak) HMAC key; OpenSSL wants a non-null pointer.
  static const char kEmpty = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&kEmpty) : secret.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool ProofMatches(const std::string& secret, const std::string& nonce, NodeId from, NodeId to,
                  uint64_t cluster_id, const std::string& proof) {
  const std::string expected = HelloProof(secret, nonce, from, to, cluster_id);
  return !expected.empty() && proof.size() == expected.size() &&
         CRYPTO_memcmp(proof.data(), expected.data(), expected.size()) == 0;
}

}  // namespace coord::raft::transport
