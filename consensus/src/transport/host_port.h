// Parsing of "host:port" peer and listen addresses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "coord/status.h"

namespace coord::raft::transport {

struct HostPort {
  std::string host;  // without brackets, e.g. "127.0.0.1", "::1", "node-a"
  uint16_t port = 0;
};

// Accepts "host:port" and "[ipv6]:port". The host must be non-empty and the port
// a decimal number in [0, 65535]. Errors: InvalidArgument naming the input.
Result<HostPort> ParseHostPort(std::string_view address);

// The inverse: brackets an IPv6 host (one containing ':').
std::string FormatHostPort(std::string_view host, uint16_t port);

}  // namespace coord::raft::transport
