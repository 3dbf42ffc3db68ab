// Requests of coordctl's user, role and auth commands (docs/cli.md, "Access
// control"). Pure: the password is read by the caller (cmd_auth.cc).
#include "requests.h"

namespace coord::ctl {

namespace {

Status Needed(std::string_view what, const std::string& value) {
  if (value.empty()) return Status::InvalidArgument(std::string(what) + " must not be empty");
  return Status::Ok();
}

}  // namespace

Result<coord::v1::Permission> ParsePermission(const std::string& space, const std::string& access,
                                              const std::string& prefix) {
  coord::v1::Permission p;
  if (space == "keys") {
    p.set_space(coord::v1::Permission::KEYS);
  } else if (space == "locks") {
    p.set_space(coord::v1::Permission::LOCKS);
  } else if (space == "elections") {
    p.set_space(coord::v1::Permission::ELECTIONS);
  } else if (space == "tpc") {
    p.set_space(coord::v1::Permission::TPC);
  } else {
    return Status::InvalidArgument("namespace \"" + space +
                                   "\": expected keys, locks, elections or tpc");
  }
  if (access == "read") {
    p.set_access(coord::v1::Permission::READ);
  } else if (access == "write") {
    p.set_access(coord::v1::Permission::WRITE);
  } else if (access == "readwrite") {
    p.set_access(coord::v1::Permission::READWRITE);
  } else {
    return Status::InvalidArgument("access \"" + access + "\": expected read, write or readwrite");
  }
  p.set_prefix(prefix);
  return p;
}

Result<Request> BuildUserChange(const Invocation& inv, const std::string& password) {
  using Op = coord::v1::UserChangeRequest;
  const std::string& verb = std::string(inv.command->words[1]);
  Request r;
  if (verb == "list") {
    r.mutable_user_list();
    return r;
  }
  COORD_RETURN_IF_ERROR(Needed("NAME", inv.args[0]));
  auto* c = r.mutable_user_change();
  c->set_name(inv.args[0]);
  if (verb == "add" || verb == "passwd") {
    COORD_RETURN_IF_ERROR(Needed("the password", password));
    c->set_op(verb == "add" ? Op::ADD : Op::PASSWD);
    c->set_password(password);
  } else if (verb == "delete") {
    c->set_op(Op::DELETE);
  } else {
    COORD_RETURN_IF_ERROR(Needed("ROLE", inv.args[1]));
    c->set_op(verb == "grant-role" ? Op::GRANT_ROLE : Op::REVOKE_ROLE);
    c->set_role(inv.args[1]);
  }
  return r;
}

Result<Request> BuildRoleChange(const Invocation& inv) {
  using Op = coord::v1::RoleChangeRequest;
  const std::string& verb = std::string(inv.command->words[1]);
  Request r;
  if (verb == "list") {
    r.mutable_role_list();
    return r;
  }
  COORD_RETURN_IF_ERROR(Needed("NAME", inv.args[0]));
  auto* c = r.mutable_role_change();
  c->set_name(inv.args[0]);
  if (verb == "add" || verb == "delete") {
    c->set_op(verb == "add" ? Op::ADD : Op::DELETE);
    return r;
  }
  Result<coord::v1::Permission> p = ParsePermission(inv.args[1], inv.args[2], inv.args[3]);
  if (!p.ok()) return p.status();
  c->set_op(verb == "grant" ? Op::GRANT : Op::REVOKE);
  *c->mutable_permission() = *p;
  return r;
}

}  // namespace coord::ctl
