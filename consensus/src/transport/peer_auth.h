// The peer handshake's cryptography: a fresh nonce per accepted connection and
// the proof a connecting member sends back (an HMAC-SHA256 keyed with the
// cluster secret). Pure functions over OpenSSL's libcrypto; no I/O.
//
// Why a challenge: the proof covers a nonce the accepting member chose, so a
// hello recorded from one connection is worthless on another.
#pragma once

#include <cstdint>
#include <string>

#include "coord/consensus/types.h"

namespace coord::raft::transport {

inline constexpr size_t kNonceBytes = 16;

// kNonceBytes of cryptographically random bytes.
std::string MakeNonce();

// HMAC-SHA256(secret, "coord-peer-hello-v1" | nonce | from | to | cluster_id).
std::string HelloProof(const std::string& secret, const std::string& nonce, NodeId from, NodeId to,
                       uint64_t cluster_id);

// Constant-time comparison of `proof` with the expected one.
bool ProofMatches(const std::string& secret, const std::string& nonce, NodeId from, NodeId to,
                  uint64_t cluster_id, const std::string& proof);

}  // namespace coord::raft::transport
