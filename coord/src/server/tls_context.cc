#include "server/tls_context.h"

#include <openssl/ssl.h>

namespace coord::server {

namespace ssl = boost::asio::ssl;

namespace {

Status FileError(const char* what, const std::string& file, const boost::system::error_code& ec) {
  return Status::IOError(std::string("cannot use ") + what + " '" + file + "': " + ec.message());
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const ClientTlsOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return Status::InvalidArgument("TLS needs both --cert-file and --key-file");
  }
  if (options.client_cert_auth && options.trusted_ca_file.empty()) {
    return Status::InvalidArgument("--client-cert-auth needs --trusted-ca-file");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(options.cert_file, ec);
  if (ec) return FileError("certificate", options.cert_file, ec);
  ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) return FileError("private key", options.key_file, ec);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::IOError("private key '" + options.key_file + "' does not match certificate '" +
                           options.cert_file + "'");
  }
  if (!options.trusted_ca_file.empty()) {
    ctx->load_verify_file(options.trusted_ca_file, ec);
    if (ec) return FileError("CA bundle", options.trusted_ca_file, ec);
    ctx->set_verify_mode(options.client_cert_auth
                             ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                             : ssl::verify_peer,
                         ec);
    if (ec) return Status::Internal("set_verify_mode: " + ec.message());
  }
  return ctx;
}

}  // namespace coord::server
