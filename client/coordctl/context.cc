#include "context.h"

namespace coord::ctl {

Context::~Context() = default;

Result<coord::Client*> Context::client() {
  if (client_ != nullptr) return client_.get();
  coord::ClientOptions options;
  for (const std::string& e : global_.endpoints) {
    if (!options.endpoints.empty()) options.endpoints += ',';
    options.endpoints += e;
  }
  options.default_timeout = global_.timeout;
  options.ca_file = global_.cacert;
  options.cert_file = global_.cert;
  options.key_file = global_.key;
  // One connection attempt may not take the whole deadline: with several
  // endpoints, a dead first one must leave time to fail over to the next.
  options.connect_timeout = std::min(options.connect_timeout,
                                     std::max(global_.timeout / 2, std::chrono::milliseconds(1)));
  auto c = coord::Client::Create(std::move(options));
  if (!c.ok()) return c.status();
  client_ = std::move(*c);
  return client_.get();
}

Result<coord::v1::Response> Context::Call(coord::v1::Request request) {
  auto c = client();
  if (!c.ok()) return c.status();
  return (*c)->Call(std::move(request), global_.timeout);
}

}  // namespace coord::ctl
