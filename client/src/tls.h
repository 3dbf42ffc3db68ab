// The client's TLS context, from ClientOptions (private to the client).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "coord/client/client.h"
#include "coord/status.h"

namespace coord::client_internal {

// Null when TLS is off. Errors: kInvalidArgument naming the file that cannot be
// used, or a certificate without its key.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const ClientOptions& options);

}  // namespace coord::client_internal
