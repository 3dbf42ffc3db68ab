// The peer port's TLS: the context every member uses in both roles (it accepts
// its peers and connects to them), and the check that a certificate proves the
// member a connection is bound to.
//
// Peers always authenticate each other (mutual TLS): both sides present a
// certificate chaining to the peer CA, TLS 1.2 or newer. A certificate proves
// member M when one of its names (DNS SANs or subject CN) maps to M through
// TcpTransportOptions::member_of_certificate_name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "coord/consensus/tcp_transport.h"
#include "coord/status.h"

namespace coord::raft::transport {

// Errors: kInvalidArgument (a file missing from the options, or naming the file
// that cannot be used).
Result<std::shared_ptr<boost::asio::ssl::context>> MakePeerTlsContext(const PeerTlsOptions& tls);

// True when one of `names` maps to `member`.
bool CertificateProvesMember(const TcpTransportOptions& options,
                             const std::vector<std::string>& names, NodeId member);

// "a, b, c" for logs; "(none)" when empty.
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace coord::raft::transport
