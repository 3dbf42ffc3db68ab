#include "transport/host_port.h"

#include <charconv>

namespace coord::raft::transport {

namespace {

Status Invalid(std::string_view address, std::string_view why) {
  return Status::InvalidArgument("bad address \"" + std::string(address) + "\": " +
                                 std::string(why));
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view address) {
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    // "[v6]:port": the host may itself contain ':'.
    size_t close = address.find(']');
    if (close == std::string_view::npos) return Invalid(address, "missing ']'");
    host = address.substr(1, close - 1);
    std::string_view rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return Invalid(address, "missing ':port'");
    port = rest.substr(1);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return Invalid(address, "missing ':port'");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    // An unbracketed host with ':' would be ambiguous (IPv6 without brackets).
    if (host.find(':') != std::string_view::npos) {
      return Invalid(address, "IPv6 hosts must be bracketed, e.g. [::1]:7421");
    }
  }
  if (host.empty()) return Invalid(address, "empty host");
  if (port.empty()) return Invalid(address, "empty port");
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Invalid(address, "port must be a number in [0, 65535]");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

std::string FormatHostPort(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

}  // namespace coord::raft::transport
