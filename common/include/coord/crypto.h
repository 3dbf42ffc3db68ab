// Small cryptographic helpers over OpenSSL's libcrypto, shared by the peer
// handshake and the user tokens: an HMAC, random bytes, a constant-time
// comparison. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace coord::crypto {

// HMAC-SHA256(key, message): 32 bytes; empty only if OpenSSL fails. An empty
// key is allowed (and weak).
std::string HmacSha256(std::string_view key, std::string_view message);

// `n` bytes from OpenSSL's generator, falling back to the OS device if it fails
// (never a predictable value).
std::string RandomBytes(size_t n);

// a == b, in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace coord::crypto
