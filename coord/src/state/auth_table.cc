#include "state/auth_table.h"

#include <algorithm>

#include "server/auth_password.h"

namespace coord::server {

namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

Status CheckHash(const coord::v1::UserChangeRequest& r) {
  if (r.password_salt().size() != kSaltBytes || r.password_hash().size() != kHashBytes ||
      r.password_iterations() < kMinIterations) {
    return Status::InvalidArgument("user " + Quoted(r.name()) + ": a password is required");
  }
  return Status::Ok();
}

}  // namespace

Status CheckAuthName(std::string_view name, const char* what) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " name must not be empty");
  if (name.size() > kMaxAuthNameBytes) {
    return Status::InvalidArgument(std::string(what) + " name is over " +
                                   std::to_string(kMaxAuthNameBytes) + " bytes");
  }
  for (char c : name) {
    if (c <= ' ' || c > '~') {
      return Status::InvalidArgument(std::string(what) + " name " + Quoted(name) +
                                     ": only printable ASCII without spaces");
    }
  }
  return Status::Ok();
}

Permission PermissionFromProto(const coord::v1::Permission& p) {
  Permission out;
  switch (p.space()) {
    case coord::v1::Permission::LOCKS:
      out.space = PermissionSpace::kLocks;
      break;
    case coord::v1::Permission::ELECTIONS:
      out.space = PermissionSpace::kElections;
      break;
    case coord::v1::Permission::TPC:
      out.space = PermissionSpace::kTpc;
      break;
    default:
      out.space = PermissionSpace::kKeys;
      break;
  }
  switch (p.access()) {
    case coord::v1::Permission::WRITE:
      out.access = Access::kWrite;
      break;
    case coord::v1::Permission::READWRITE:
      out.access = Access::kReadWrite;
      break;
    default:
      out.access = Access::kRead;
      break;
  }
  out.prefix = p.prefix();
  return out;
}

coord::v1::Permission PermissionToProto(const Permission& p) {
  coord::v1::Permission out;
  switch (p.space) {
    case PermissionSpace::kKeys:
      out.set_space(coord::v1::Permission::KEYS);
      break;
    case PermissionSpace::kLocks:
      out.set_space(coord::v1::Permission::LOCKS);
      break;
    case PermissionSpace::kElections:
      out.set_space(coord::v1::Permission::ELECTIONS);
      break;
    case PermissionSpace::kTpc:
      out.set_space(coord::v1::Permission::TPC);
      break;
  }
  switch (p.access) {
    case Access::kRead:
      out.set_access(coord::v1::Permission::READ);
      break;
    case Access::kWrite:
      out.set_access(coord::v1::Permission::WRITE);
      break;
    case Access::kReadWrite:
      out.set_access(coord::v1::Permission::READWRITE);
      break;
  }
  out.set_prefix(p.prefix);
  return out;
}

const UserEntry* AuthTable::FindUser(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

bool AuthTable::empty() const {
  return !enabled_ && users_.empty() && roles_.empty() && last_generation_ == 0;
}

bool AuthTable::IsRoot(std::string_view user) const {
  const UserEntry* u = FindUser(user);
  return u != nullptr && u->roles.count(std::string(kRootRole)) != 0;
}

bool AuthTable::Allowed(std::string_view user, PermissionSpace space, Access access,
                        const KeyRange& range) const {
  const UserEntry* u = FindUser(user);
  if (u == nullptr) return false;
  for (const std::string& role : u->roles) {
    if (role == kRootRole) return true;
    auto it = roles_.find(role);
    if (it != roles_.end() && coord::server::Allowed(it->second, space, access, range)) {
      return true;
    }
  }
  return false;
}

bool AuthTable::Allowed(std::string_view user, PermissionSpace space, Access access,
                        std::string_view name) const {
  return Allowed(user, space, access, SingleKeyRange(name));
}

Status AuthTable::Set(const coord::v1::AuthSetRequest& request) {
  if (!request.enabled()) {
    enabled_ = false;
    signing_key_.clear();
    return Status::Ok();
  }
  if (enabled_) return Status::Ok();  // already on: keep the key, and every token
  if (!IsRoot(kRootUser)) {
    return Status::InvalidArgument(
        "auth cannot be enabled before user \"root\" exists with role \"root\" (it would lock "
        "everyone out): coordctl user add root, then coordctl user grant-role root root");
  }
  if (request.signing_key().size() != kSigningKeyBytes) {
    return Status::InvalidArgument("auth_set: the signing key is missing");
  }
  enabled_ = true;
  signing_key_ = request.signing_key();
  return Status::Ok();
}

Status AuthTable::ChangeUser(const coord::v1::UserChangeRequest& r) {
  COORD_RETURN_IF_ERROR(CheckAuthName(r.name(), "user"));
  auto it = users_.find(r.name());
  using Op = coord::v1::UserChangeRequest;
  if (r.op() == Op::ADD) {
    if (it != users_.end()) return Status::Conflict("user " + Quoted(r.name()) + " exists already");
    if (users_.size() >= kMaxUsers) {
      return Status::ResourceExhausted("at most " + std::to_string(kMaxUsers) + " users");
    }
    COORD_RETURN_IF_ERROR(CheckHash(r));
    UserEntry& u = users_[r.name()];
    u.salt = r.password_salt();
    u.hash = r.password_hash();
    u.iterations = r.password_iterations();
    u.generation = ++last_generation_;
    return Status::Ok();
  }
  if (it == users_.end()) return Status::NotFound("no user " + Quoted(r.name()));
  UserEntry& u = it->second;
  const bool root = r.name() == kRootUser;
  switch (r.op()) {
    case Op::DELETE:
      if (root && enabled_) {
        return Status::InvalidArgument("user \"root\" cannot be deleted while auth is enabled");
      }
      users_.erase(it);
      return Status::Ok();
    case Op::PASSWD:
      COORD_RETURN_IF_ERROR(CheckHash(r));
      u.salt = r.password_salt();
      u.hash = r.password_hash();
      u.iterations = r.password_iterations();
      u.generation = ++last_generation_;
      return Status::Ok();
    case Op::GRANT_ROLE:
      COORD_RETURN_IF_ERROR(CheckAuthName(r.role(), "role"));
      if (r.role() != kRootRole && roles_.find(r.role()) == roles_.end()) {
        return Status::NotFound("no role " + Quoted(r.role()));
      }
      if (u.roles.size() >= kMaxRolesPerUser && u.roles.count(r.role()) == 0) {
        return Status::ResourceExhausted("at most " + std::to_string(kMaxRolesPerUser) +
                                         " roles per user");
      }
      u.roles.insert(r.role());
      return Status::Ok();
    case Op::REVOKE_ROLE:
      if (root && enabled_ && r.role() == kRootRole) {
        return Status::InvalidArgument(
            "role \"root\" cannot be revoked from user \"root\" while auth is enabled");
      }
      if (u.roles.erase(r.role()) == 0) {
        return Status::NotFound("user " + Quoted(r.name()) + " has no role " + Quoted(r.role()));
      }
      return Status::Ok();
    default:
      return Status::InvalidArgument("unknown user_change op");
  }
}

Status AuthTable::ChangeRole(const coord::v1::RoleChangeRequest& r) {
  COORD_RETURN_IF_ERROR(CheckAuthName(r.name(), "role"));
  if (r.name() == kRootRole) {
    return Status::InvalidArgument("role \"root\" is built in and cannot be changed");
  }
  auto it = roles_.find(r.name());
  using Op = coord::v1::RoleChangeRequest;
  if (r.op() == Op::ADD) {
    if (it != roles_.end()) return Status::Conflict("role " + Quoted(r.name()) + " exists already");
    if (roles_.size() >= kMaxRoles) {
      return Status::ResourceExhausted("at most " + std::to_string(kMaxRoles) + " roles");
    }
    roles_[r.name()];
    return Status::Ok();
  }
  if (it == roles_.end()) return Status::NotFound("no role " + Quoted(r.name()));
  std::vector<Permission>& grants = it->second;
  const Permission p = PermissionFromProto(r.permission());
  switch (r.op()) {
    case Op::DELETE:
      roles_.erase(it);
      for (auto& [name, user] : users_) user.roles.erase(r.name());
      return Status::Ok();
    case Op::GRANT:
      if (std::find(grants.begin(), grants.end(), p) != grants.end()) return Status::Ok();
      if (grants.size() >= kMaxGrantsPerRole) {
        return Status::ResourceExhausted("at most " + std::to_string(kMaxGrantsPerRole) +
                                         " permissions per role");
      }
      grants.push_back(p);
      return Status::Ok();
    case Op::REVOKE: {
      auto g = std::find(grants.begin(), grants.end(), p);
      if (g == grants.end()) {
        return Status::NotFound("role " + Quoted(r.name()) + " has no such permission");
      }
      grants.erase(g);
      return Status::Ok();
    }
    default:
      return Status::InvalidArgument("unknown role_change op");
  }
}

std::vector<std::string> AuthTable::RolesOf(std::string_view user) const {
  const UserEntry* u = FindUser(user);
  if (u == nullptr) return {};
  return {u->roles.begin(), u->roles.end()};
}

coord::v1::UserListResponse AuthTable::ListUsers(std::string_view name) const {
  coord::v1::UserListResponse out;
  for (const auto& [user, entry] : users_) {
    if (!name.empty() && user != name) continue;
    coord::v1::UserInfo* info = out.add_users();
    info->set_name(user);
    for (const std::string& role : entry.roles) info->add_roles(role);
  }
  return out;
}

coord::v1::RoleListResponse AuthTable::ListRoles(std::string_view name) const {
  coord::v1::RoleListResponse out;
  for (const auto& [role, grants] : roles_) {
    if (!name.empty() && role != name) continue;
    coord::v1::RoleInfo* info = out.add_roles();
    info->set_name(role);
    for (const Permission& p : grants) *info->add_permissions() = PermissionToProto(p);
  }
  return out;
}

void AuthTable::ToSnapshot(coord::state::StateSnapshot* snapshot) const {
  if (empty()) return;
  coord::state::AuthRecord* auth = snapshot->mutable_auth();
  auth->set_enabled(enabled_);
  auth->set_signing_key(signing_key_);
  auth->set_last_generation(last_generation_);
  for (const auto& [name, u] : users_) {
    coord::state::UserRecord* r = auth->add_users();
    r->set_name(name);
    r->set_password_salt(u.salt);
    r->set_password_hash(u.hash);
    r->set_password_iterations(u.iterations);
    for (const std::string& role : u.roles) r->add_roles(role);
    r->set_generation(u.generation);
  }
  for (const auto& [name, grants] : roles_) {
    coord::state::RoleRecord* r = auth->add_roles();
    r->set_name(name);
    for (const Permission& p : grants) *r->add_permissions() = PermissionToProto(p);
  }
}

Status AuthTable::Load(const coord::state::StateSnapshot& snapshot) {
  const coord::state::AuthRecord& auth = snapshot.auth();
  enabled_ = auth.enabled();
  signing_key_ = auth.signing_key();
  last_generation_ = auth.last_generation();
  if (enabled_ && signing_key_.size() != kSigningKeyBytes) {
    return Status::Corruption("state snapshot: auth is enabled without a signing key");
  }
  for (const coord::state::RoleRecord& r : auth.roles()) {
    std::vector<Permission>& grants = roles_[r.name()];
    for (const coord::v1::Permission& p : r.permissions()) grants.push_back(PermissionFromProto(p));
  }
  for (const coord::state::UserRecord& r : auth.users()) {
    if (r.generation() > last_generation_) {
      return Status::Corruption("state snapshot: user generation above the last one issued");
    }
    UserEntry& u = users_[r.name()];
    u.salt = r.password_salt();
    u.hash = r.password_hash();
    u.iterations = r.password_iterations();
    u.roles.insert(r.roles().begin(), r.roles().end());
    u.generation = r.generation();
  }
  return Status::Ok();
}

}  // namespace coord::server
