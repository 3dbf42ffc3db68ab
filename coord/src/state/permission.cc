#include "state/permission.h"

namespace coord::server {

bool Covers(const Permission& permission, PermissionSpace space, Access access,
            const KeyRange& range) {
  if (permission.space != space) return false;
  const auto granted = static_cast<uint8_t>(permission.access);
  const auto wanted = static_cast<uint8_t>(access);
  if ((granted & wanted) != wanted) return false;
  const std::string& prefix = permission.prefix;
  if (prefix.empty()) return true;  // the whole namespace
  if (std::string_view(range.begin).substr(0, prefix.size()) != prefix) return false;
  if (range.single) return true;
  // Empty: no name lies past the prefix (all 0xff bytes), so everything from a
  // name under it is under it too.
  const std::string end = PrefixEnd(prefix);
  if (end.empty()) return true;
  return !range.unbounded && range.end <= end;
}

bool Allowed(const std::vector<Permission>& grants, PermissionSpace space, Access access,
             const KeyRange& range) {
  for (const Permission& p : grants) {
    if (Covers(p, space, access, range)) return true;
  }
  return false;
}

bool Allowed(const std::vector<Permission>& grants, PermissionSpace space, Access access,
             std::string_view name) {
  return Allowed(grants, space, access, SingleKeyRange(name));
}

}  // namespace coord::server
