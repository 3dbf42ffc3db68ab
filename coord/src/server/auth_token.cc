#include "server/auth_token.h"

#include <charconv>

#include "coord/crypto.h"

namespace coord::server {

namespace {

constexpr std::string_view kPrefix = "c1.";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

// False for a character outside the alphabet or leftover bits that are not zero
// (so every byte string has exactly one encoding).
bool FromBase64Url(std::string_view text, std::string* out) {
  out->clear();
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    if (v < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return bits < 6 && (buffer & ((1u << bits) - 1)) == 0;
}

Status Unauthenticated(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message));
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<std::string> MintToken(std::string_view key, const TokenClaims& claims) {
  if (key.empty()) return Status::InvalidArgument("no signing key");
  const std::string payload = std::to_string(claims.expires_unix_ms) + ":" +
                              std::to_string(claims.generation) + ":" + claims.user;
  std::string token = std::string(kPrefix) + Base64Url(payload);
  const std::string signature = crypto::HmacSha256(key, token);
  if (signature.empty()) return Status::Internal("HMAC failed");
  token += "." + Base64Url(signature);
  if (token.size() > kMaxTokenBytes) {
    return Status::InvalidArgument("the user name is too long for a token");
  }
  return token;
}

Result<TokenClaims> VerifyToken(std::string_view key, std::string_view token,
                                int64_t now_unix_ms) {
  if (token.size() > kMaxTokenBytes || token.substr(0, kPrefix.size()) != kPrefix) {
    return Unauthenticated("malformed token");
  }
  const size_t dot = token.rfind('.');
  if (dot < kPrefix.size()) return Unauthenticated("malformed token");
  const std::string_view signed_part = token.substr(0, dot);
  std::string signature;
  if (!FromBase64Url(token.substr(dot + 1), &signature)) {
    return Unauthenticated("malformed token");
  }
  // The signature first: nothing else of a token is trusted before it holds.
  if (key.empty() || !crypto::ConstantTimeEquals(crypto::HmacSha256(key, signed_part), signature)) {
    return Unauthenticated(
        "token not signed by this ensemble (another cluster's, or issued before auth was "
        "enabled again); authenticate again");
  }
  std::string payload;
  if (!FromBase64Url(signed_part.substr(kPrefix.size()), &payload)) {
    return Unauthenticated("malformed token");
  }
  const size_t first = payload.find(':');
  const size_t second = first == std::string::npos ? first : payload.find(':', first + 1);
  TokenClaims claims;
  if (second == std::string::npos ||
      !ParseNumber(std::string_view(payload).substr(0, first), &claims.expires_unix_ms) ||
      !ParseNumber(std::string_view(payload).substr(first + 1, second - first - 1),
                   &claims.generation)) {
    return Unauthenticated("malformed token");
  }
  claims.user = payload.substr(second + 1);
  if (claims.user.empty()) return Unauthenticated("malformed token");
  if (now_unix_ms >= claims.expires_unix_ms) {
    return Unauthenticated("token of user \"" + claims.user + "\" expired " +
                           std::to_string(now_unix_ms - claims.expires_unix_ms) +
                           " ms ago; authenticate again");
  }
  return claims;
}

}  // namespace coord::server
