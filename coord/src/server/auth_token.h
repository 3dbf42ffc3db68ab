// Login tokens (issue 11): issued by any member when a user authenticates,
// verified by any member without a round trip, because every member holds the
// ensemble's signing key (replicated when auth is enabled).
//
// Format (ASCII, at most kMaxTokenBytes):
//   "c1." base64url(payload) "." base64url(HMAC-SHA256(key, "c1." base64url(payload)))
//   payload = decimal expires_unix_ms ":" decimal generation ":" user
// A token names its user, the wall-clock time it expires, and the user's
// generation when it was issued: a password change or the user's deletion bumps
// the generation and so ends every token issued before. Roles are not in the
// token; permissions are looked up when a request is checked, so a revoked
// grant takes effect at once.
//
// Errors are kUnauthenticated, with a message that says which check failed
// (malformed, not signed by this ensemble, expired).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "coord/status.h"

namespace coord::server {

inline constexpr size_t kMaxTokenBytes = 1024;

struct TokenClaims {
  std::string user;
  int64_t expires_unix_ms = 0;
  uint64_t generation = 0;

  friend bool operator==(const TokenClaims&, const TokenClaims&) = default;
};

// The token for `claims`, signed with `key`. kInvalidArgument if it would be
// longer than kMaxTokenBytes (a very long user name) or the key is empty.
Result<std::string> MintToken(std::string_view key, const TokenClaims& claims);

// The claims of `token` if it is well-formed, signed with `key` and not expired
// at `now_unix_ms`.
Result<TokenClaims> VerifyToken(std::string_view key, std::string_view token,
                                int64_t now_unix_ms);

}  // namespace coord::server
