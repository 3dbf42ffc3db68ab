// AuthTable: the replicated users, roles and switch of Coord's access control
// (issue 11; docs/security.md). Part of the state machine: changed only by applied
// commands (auth_set, user_change, role_change), included in snapshots, and
// deterministic (ordered containers only).
//
// Model:
//   * A user has a password hash (never the password: the member that receives
//     it hashes it before proposing), a set of roles and a generation. Tokens name
//     the generation they were issued at; PASSWD gives the user a new one, so
//     every earlier token ends. Generations come from one counter and are never
//     reused, so a user deleted and added again gets none of the old tokens back.
//   * A role is a list of Permissions (permission.h). The role "root" is built in,
//     grants everything (every namespace, and managing auth) and cannot be changed.
//   * `enabled` switches the checks on. Enabling needs user "root" with role
//     "root"; while enabled, root cannot be deleted or lose that role, so the
//     ensemble can always be managed. Enabling stores the signing key the
//     proposing member generated; disabling drops it, ending every token.
//
// Thread-safety: none (the state machine's).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/status.h"
#include "state.pb.h"
#include "state/key_range.h"
#include "state/permission.h"

namespace coord::server {

inline constexpr std::string_view kRootUser = "root";
inline constexpr std::string_view kRootRole = "root";
// Most users and roles, grants per role, roles per user; names are 1..kMaxAuthNameBytes
// printable ASCII bytes without spaces.
inline constexpr size_t kMaxUsers = 10'000;
inline constexpr size_t kMaxRoles = 10'000;
inline constexpr size_t kMaxGrantsPerRole = 1'000;
inline constexpr size_t kMaxRolesPerUser = 100;
inline constexpr size_t kMaxAuthNameBytes = 128;
inline constexpr size_t kSigningKeyBytes = 32;

struct UserEntry {
  std::string salt;
  std::string hash;
  uint32_t iterations = 0;
  std::set<std::string> roles;
  uint64_t generation = 0;
};

// The API permission as the checker's type, and back.
Permission PermissionFromProto(const coord::v1::Permission& p);
coord::v1::Permission PermissionToProto(const Permission& p);

class AuthTable {
 public:
  bool enabled() const { return enabled_; }
  const std::string& signing_key() const { return signing_key_; }
  const UserEntry* FindUser(std::string_view name) const;
  // True when nothing was ever configured (the snapshot then omits the table).
  bool empty() const;

  // Whether `user` has the role root.
  bool IsRoot(std::string_view user) const;
  // Whether `user` may make `access` to `range` (or the name) in `space`: root
  // always; others when one grant of one of their roles covers it.
  bool Allowed(std::string_view user, PermissionSpace space, Access access,
               const KeyRange& range) const;
  bool Allowed(std::string_view user, PermissionSpace space, Access access,
               std::string_view name) const;

  // The commands. Errors (nothing changes): INVALID_ARGUMENT (bad names, a
  // missing hash, locking root out, changing the role root), NOT_FOUND (an
  // unknown user or role, a grant or role the user does not have), CONFLICT (a
  // user or role that exists already), RESOURCE_EXHAUSTED (a limit above).
  Status Set(const coord::v1::AuthSetRequest& request);
  Status ChangeUser(const coord::v1::UserChangeRequest& request);
  Status ChangeRole(const coord::v1::RoleChangeRequest& request);

  coord::v1::UserListResponse ListUsers(std::string_view name) const;
  coord::v1::RoleListResponse ListRoles(std::string_view name) const;
  std::vector<std::string> RolesOf(std::string_view user) const;

  void ToSnapshot(coord::state::StateSnapshot* snapshot) const;
  Status Load(const coord::state::StateSnapshot& snapshot);

 private:
  bool enabled_ = false;
  std::string signing_key_;
  std::map<std::string, UserEntry, std::less<>> users_;
  std::map<std::string, std::vector<Permission>, std::less<>> roles_;
  uint64_t last_generation_ = 0;
};

// INVALID_ARGUMENT unless `name` is a valid user or role name (`what` names it).
Status CheckAuthName(std::string_view name, const char* what);

}  // namespace coord::server
