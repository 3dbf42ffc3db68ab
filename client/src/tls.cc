#include "tls.h"

#include "coord/tls_files.h"

namespace coord::client_internal {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const ClientOptions& options) {
  if (!options.tls_enabled()) return std::shared_ptr<ssl::context>();
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument("cert_file and key_file go together");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  tls::AllowModernVersionsOnly(*ctx);
  if (options.ca_file.empty()) {
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec) return Status::InvalidArgument("cannot use the system CA paths: " + ec.message());
  } else {
    COORD_RETURN_IF_ERROR(tls::TrustCaFile(*ctx, options.ca_file));
  }
  boost::system::error_code ec;
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (!options.cert_file.empty()) {
    COORD_RETURN_IF_ERROR(tls::UseCertificateAndKey(*ctx, options.cert_file, options.key_file));
  }
  return ctx;
}

}  // namespace coord::client_internal
