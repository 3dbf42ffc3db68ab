#include "context.h"

#include <fstream>

namespace coord::ctl {

Context::~Context() = default;

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read the password file " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::InvalidArgument("the password file " + path + " is empty");
  return line;
}

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
  if (!global_.user.empty()) {
    if (global_.password_file.empty()) {
      return Status::InvalidArgument("--user needs --password-file (the file with the password)");
    }
    Result<std::string> password = ReadSecretFile(global_.password_file);
    if (!password.ok()) return password.status();
    options.user = global_.user;
    options.password = std::move(*password);
  } else if (!global_.password_file.empty()) {
    return Status::InvalidArgument("--password-file needs --user");
  }
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
