#include "server/auth_password.h"

#include <openssl/evp.h>

#include "coord/crypto.h"

namespace coord::server {

namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

bool Derive(const std::string& password, const std::string& salt, uint32_t iterations,
            std::string* out) {
  out->assign(kHashBytes, '\0');
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), static_cast<int>(iterations),
                           EVP_sha256(), static_cast<int>(kHashBytes),
                           reinterpret_cast<unsigned char*>(out->data())) == 1;
}

}  // namespace

Result<PasswordHash> HashPassword(const std::string& password, uint32_t iterations) {
  if (password.empty()) return Status::InvalidArgument("the password must not be empty");
  if (iterations < kMinIterations) {
    return Status::InvalidArgument("at least " + std::to_string(kMinIterations) +
                                   " PBKDF2 iterations");
  }
  PasswordHash h;
  h.iterations = iterations;
  h.salt = crypto::RandomBytes(kSaltBytes);
  if (!Derive(password, h.salt, iterations, &h.hash)) {
    return Status::Internal("PBKDF2 failed");
  }
  return h;
}

bool VerifyPassword(const std::string& password, const PasswordHash& stored) {
  if (stored.salt.size() != kSaltBytes || stored.hash.size() != kHashBytes ||
      stored.iterations < kMinIterations || password.empty()) {
    return false;
  }
  std::string derived;
  if (!Derive(password, stored.salt, stored.iterations, &derived)) return false;
  return crypto::ConstantTimeEquals(derived, stored.hash);
}

}  // namespace coord::server
