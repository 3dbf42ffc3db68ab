#include "transport/peer_stream.h"

#include <openssl/ssl.h>

#include "coord/tls_files.h"

namespace coord::raft::transport {

std::vector<std::string> PeerStream::PeerCertificateNames() {
  if (!tls_) return {};
  X509* certificate = SSL_get1_peer_certificate(tls_->native_handle());
  std::vector<std::string> names = coord::tls::CertificateNames(certificate);
  X509_free(certificate);
  return names;
}

}  // namespace coord::raft::transport
