// Building blocks for the TLS contexts of the client port, the peer port and the
// client library: one place that knows how to load PEM files into an Asio SSL
// context, which protocol versions are allowed, and what names a certificate
// carries. Pure setup code over OpenSSL; no I/O beyond reading the named files.
//
// Thread-safety: the functions touch only the context they are given; a context
// must not be changed while a handshake uses it.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <string>
#include <vector>

#include "coord/status.h"

typedef struct x509_st X509;

namespace coord::tls {

// Allows TLS 1.2 and 1.3 only (no SSLv2/3, TLS 1.0/1.1).
void AllowModernVersionsOnly(boost::asio::ssl::context& ctx);

// Loads a PEM certificate chain and its private key and checks that they belong
// together. kInvalidArgument naming the file that cannot be used.
Status UseCertificateAndKey(boost::asio::ssl::context& ctx, const std::string& cert_file,
                            const std::string& key_file);

// Trusts the PEM CA bundle in `ca_file` for verifying the other side.
// kInvalidArgument naming the file when it cannot be read.
Status TrustCaFile(boost::asio::ssl::context& ctx, const std::string& ca_file);

// The names a certificate carries: every DNS subject alternative name, then the
// subject's common name (if any). Empty for a null certificate.
std::vector<std::string> CertificateNames(X509* certificate);

}  // namespace coord::tls
