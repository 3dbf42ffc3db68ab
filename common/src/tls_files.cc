#include "coord/tls_files.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace coord::tls {

namespace ssl = boost::asio::ssl;

namespace {

Status Unusable(const char* what, const std::string& file, const std::string& why) {
  return Status::InvalidArgument(std::string("cannot use ") + what + " '" + file + "': " + why);
}

}  // namespace

void AllowModernVersionsOnly(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
}

Status UseCertificateAndKey(ssl::context& ctx, const std::string& cert_file,
                            const std::string& key_file) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) return Unusable("certificate", cert_file, ec.message());
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return Unusable("private key", key_file, ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return Unusable("private key", key_file, "it does not match certificate '" + cert_file + "'");
  }
  return Status::Ok();
}

Status TrustCaFile(ssl::context& ctx, const std::string& ca_file) {
  boost::system::error_code ec;
  ctx.load_verify_file(ca_file, ec);
  if (ec) return Unusable("CA bundle", ca_file, ec.message());
  return Status::Ok();
}

std::vector<std::string> CertificateNames(X509* certificate) {
  std::vector<std::string> names;
  if (certificate == nullptr) return names;
  auto* alt_names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (alt_names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt_names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt_names, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = name->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                         static_cast<size_t>(ASN1_STRING_length(dns)));
    }
    GENERAL_NAMES_free(alt_names);
  }
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (index >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                       static_cast<size_t>(ASN1_STRING_length(cn)));
  }
  return names;
}

}  // namespace coord::tls
