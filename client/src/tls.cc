#include "tls.h"

#include <openssl/ssl.h>

namespace coord::client_internal {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const ClientOptions& options) {
  if (!options.tls_enabled()) return std::shared_ptr<ssl::context>();
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument("cert_file and key_file go together");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(options.ca_file, ec);
  }
  if (ec) return Status::InvalidArgument("cannot use CA file '" + options.ca_file + "': " + ec.message());
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (!options.cert_file.empty()) {
    ctx->use_certificate_chain_file(options.cert_file, ec);
    if (ec) {
      return Status::InvalidArgument("cannot use certificate '" + options.cert_file +
                                     "': " + ec.message());
    }
    ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return Status::InvalidArgument("cannot use private key '" + options.key_file +
                                     "' with certificate '" + options.cert_file + "'");
    }
  }
  return ctx;
}

}  // namespace coord::client_internal
