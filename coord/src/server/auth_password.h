// Password hashing for Coord users (issue 11): PBKDF2-HMAC-SHA256 with a random
// 16-byte salt per password, from OpenSSL's libcrypto. Only the hash is ever
// replicated or stored; the member that receives a password hashes it before
// proposing, and checks a login against the stored hash.
//
// Cost: kDefaultIterations takes tens of milliseconds of one core, so callers
// hash and verify off the I/O threads (and a login back-off bounds how often).
//
// Thread-safety: the functions are pure and may run on any thread.
#pragma once

#include <cstdint>
#include <string>

#include "coord/status.h"

namespace coord::server {

struct PasswordHash {
  std::string salt;      // 16 random bytes
  std::string hash;      // 32 bytes of PBKDF2 output
  uint32_t iterations = 0;
};

inline constexpr uint32_t kDefaultIterations = 100'000;
// Fewer iterations than this are refused when checking a stored hash: a forged
// or damaged record must not make a password cheap to guess.
inline constexpr uint32_t kMinIterations = 10'000;

// A fresh salt and the hash of `password`. kInvalidArgument for an empty
// password or iterations below kMinIterations; kInternal if PBKDF2 fails.
Result<PasswordHash> HashPassword(const std::string& password,
                                  uint32_t iterations = kDefaultIterations);

// Whether `password` matches `stored` (constant time in the hash comparison).
// False for a malformed record (wrong sizes, too few iterations).
bool VerifyPassword(const std::string& password, const PasswordHash& stored);

}  // namespace coord::server
