#include "transport/peer_tls.h"

#include "coord/tls_files.h"

namespace coord::raft::transport {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> MakePeerTlsContext(const PeerTlsOptions& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty() || tls.trusted_ca_file.empty()) {
    return Status::InvalidArgument(
        "peer TLS needs a certificate, its key and the peer CA (--peer-cert-file, "
        "--peer-key-file, --peer-trusted-ca-file)");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls);
  coord::tls::AllowModernVersionsOnly(*ctx);
  COORD_RETURN_IF_ERROR(coord::tls::UseCertificateAndKey(*ctx, tls.cert_file, tls.key_file));
  COORD_RETURN_IF_ERROR(coord::tls::TrustCaFile(*ctx, tls.trusted_ca_file));
  boost::system::error_code ec;
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return Status::Internal("set_verify_mode: " + ec.message());
  return ctx;
}

bool CertificateProvesMember(const TcpTransportOptions& options,
                             const std::vector<std::string>& names, NodeId member) {
  if (!options.member_of_certificate_name || member == kNoNode) return false;
  for (const std::string& name : names) {
    if (options.member_of_certificate_name(name) == member) return true;
  }
  return false;
}

std::string JoinNames(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += name;
  }
  return joined;
}

}  // namespace coord::raft::transport
