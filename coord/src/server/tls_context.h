// The TLS context of the client port, built from ClientTlsOptions.
//
// TLS 1.2 and 1.3 only. With client_cert_auth a handshake without a client
// certificate chaining to trusted_ca_file fails; with only trusted_ca_file a
// certificate is asked for and checked when sent. The files are read once, when
// the context is built.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "coord/server/server.h"
#include "coord/status.h"

namespace coord::server {

// Errors: kInvalidArgument (key without cert, client_cert_auth without a CA, or
// naming the file that could not be read or does not match).
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const ClientTlsOptions& options);

}  // namespace coord::server
