// user, role and auth: the access control commands (docs/cli.md).
#include <iostream>

#include "command_table.h"
#include "commands.h"
#include "render.h"
#include "requests.h"

namespace coord::ctl {

namespace {

// The new password of user add / passwd: --new-password-file, else stdin's
// first line (so it never shows in the process list or shell history).
Result<std::string> NewPassword(const Invocation& inv) {
  if (auto file = inv.Flag("new-password-file")) return ReadSecretFile(*file);
  std::string line;
  if (!std::getline(std::cin, line)) {
    return Status::InvalidArgument("no password: give --new-password-file F or one line on stdin");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::InvalidArgument("the password must not be empty");
  return line;
}

}  // namespace

Outcome RunAuth(const Invocation& inv, Context& ctx) {
  const std::string group(inv.command->words[0]);
  const std::string verb(inv.command->words[1]);
  Result<Request> request = Status::Internal("unreachable");
  if (group == "user") {
    std::string password;
    if (verb == "add" || verb == "passwd") {
      Result<std::string> p = NewPassword(inv);
      if (!p.ok()) return UsageError(p.status().message());
      password = std::move(*p);
    }
    request = BuildUserChange(inv, password);
  } else if (group == "role") {
    request = BuildRoleChange(inv);
  } else {
    Request r;
    if (verb == "status") {
      r.mutable_auth_status();
    } else {
      r.mutable_auth_set()->set_enabled(verb == "enable");
    }
    request = std::move(r);
  }
  if (!request.ok()) return UsageError(request.status().message());
  Result<coord::v1::Response> response = ctx.Call(*request);
  if (!response.ok()) return FromStatus(response.status());
  const std::string out = RenderResponse(*request, *response, ctx.format());
  if (!out.empty()) ctx.printer().Emit(out);
  return Outcome::Ok();
}

}  // namespace coord::ctl
