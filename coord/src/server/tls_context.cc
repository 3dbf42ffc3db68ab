#include "server/tls_context.h"

#include "coord/tls_files.h"

namespace coord::server {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const ClientTlsOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return Status::InvalidArgument("TLS needs both --cert-file and --key-file");
  }
  if (options.client_cert_auth && options.trusted_ca_file.empty()) {
    return Status::InvalidArgument("--client-cert-auth needs --trusted-ca-file");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  tls::AllowModernVersionsOnly(*ctx);
  COORD_RETURN_IF_ERROR(tls::UseCertificateAndKey(*ctx, options.cert_file, options.key_file));
  if (!options.trusted_ca_file.empty()) {
    COORD_RETURN_IF_ERROR(tls::TrustCaFile(*ctx, options.trusted_ca_file));
    boost::system::error_code ec;
    ctx->set_verify_mode(options.client_cert_auth
                             ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                             : ssl::verify_peer,
                         ec);
    if (ec) return Status::Internal("set_verify_mode: " + ec.message());
  }
  return ctx;
}

}  // namespace coord::server
