// Permissions of the role-based access control (issue 11; docs/security.md):
// what a role grants, and whether a set of grants covers one access. Pure and
// deterministic, so the state machine can check every command at apply time
// and every member reaches the same verdict.
//
// A permission grants READ, WRITE or both on one namespace under a prefix:
//   kKeys       keys (and topics, which are key prefixes: records, cursors);
//   kLocks      lock names;
//   kElections  election names;
//   kTpc        2PC participant names.
// An access to a KeyRange (key_range.h: one name, a prefix, [begin, end), or
// every name from begin on) is covered when ONE permission of the right
// namespace and access covers the whole range: every name in it starts with the
// prefix. The empty prefix grants the whole namespace. Ranges spanning two
// prefixes are not pieced together from two grants (etcd merges a user's
// grants; Coord keeps each check to one grant, docs/decisions.md D59).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "state/key_range.h"

namespace coord::server {

enum class PermissionSpace : uint8_t { kKeys, kLocks, kElections, kTpc };
enum class Access : uint8_t { kRead = 1, kWrite = 2, kReadWrite = 3 };

struct Permission {
  PermissionSpace space = PermissionSpace::kKeys;
  Access access = Access::kRead;
  std::string prefix;  // "" = the whole namespace

  friend bool operator==(const Permission&, const Permission&) = default;
};

// Whether `permission` grants `access` (kReadWrite: both) on all of `range` in
// `space`.
bool Covers(const Permission& permission, PermissionSpace space, Access access,
            const KeyRange& range);

// Whether any of `grants` covers the access to `range`.
bool Allowed(const std::vector<Permission>& grants, PermissionSpace space, Access access,
             const KeyRange& range);
// ... to the single name `name`.
bool Allowed(const std::vector<Permission>& grants, PermissionSpace space, Access access,
             std::string_view name);

// Whether some grant allows reading the single name `key` (a watch delivers an
// event only then).
inline bool MayRead(const std::vector<Permission>& grants, PermissionSpace space,
                    std::string_view key) {
  return Allowed(grants, space, Access::kRead, key);
}

}  // namespace coord::server
