// Permission coverage (state/permission.h): prefixes, ranges, access kinds and
// namespaces, including the cases that must be refused.
#include "state/permission.h"

#include <gtest/gtest.h>

namespace coord::server {
namespace {

const std::string kAll("\0", 1);

Permission Keys(Access access, std::string prefix) {
  return Permission{PermissionSpace::kKeys, access, std::move(prefix)};
}

KeyRange Range(std::string_view key, std::string_view end, bool prefix = false) {
  auto r = MakeKeyRange(key, end, prefix);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : KeyRange{};
}

bool Reads(const Permission& p, const KeyRange& r) {
  return Covers(p, PermissionSpace::kKeys, Access::kRead, r);
}

TEST(Permission, APrefixCoversItsKeysAndRangesInsideIt) {
  const Permission read_a = Keys(Access::kRead, "/a/");
  EXPECT_TRUE(Reads(read_a, Range("/a/x", "")));
  EXPECT_TRUE(Reads(read_a, Range("/a/", "", true)));
  EXPECT_TRUE(Reads(read_a, Range("/a/b/", "", true)));
  EXPECT_TRUE(Reads(read_a, Range("/a/", "/a0")));
  EXPECT_TRUE(Reads(read_a, Range("/a/b", "/a/c")));
  EXPECT_FALSE(Reads(read_a, Range("/b/x", "")));
  EXPECT_FALSE(Reads(read_a, Range("/a", ""))) << "not under it";
  EXPECT_FALSE(Reads(read_a, Range("/a/", "/b"))) << "the range runs past the prefix";
  EXPECT_FALSE(Reads(read_a, Range("/a/", kAll)));
  EXPECT_FALSE(Reads(read_a, Range("/", "", true))) << "a read of / is not a read of /a/";
}

TEST(Permission, AccessKindsAndNamespacesAreSeparate) {
  const Permission read_a = Keys(Access::kRead, "/a/");
  const Permission both_a = Keys(Access::kReadWrite, "/a/");
  const KeyRange x = Range("/a/x", "");
  EXPECT_FALSE(Covers(read_a, PermissionSpace::kKeys, Access::kWrite, x));
  EXPECT_FALSE(Covers(read_a, PermissionSpace::kKeys, Access::kReadWrite, x));
  EXPECT_TRUE(Covers(both_a, PermissionSpace::kKeys, Access::kWrite, x));
  EXPECT_TRUE(Covers(both_a, PermissionSpace::kKeys, Access::kReadWrite, x));
  EXPECT_FALSE(Covers(both_a, PermissionSpace::kLocks, Access::kRead, x))
      << "key rights are not lock rights";
  const std::vector<Permission> locks = {{PermissionSpace::kLocks, Access::kWrite, "jobs/"}};
  EXPECT_TRUE(Allowed(locks, PermissionSpace::kLocks, Access::kWrite, "jobs/nightly"));
  EXPECT_FALSE(Allowed(locks, PermissionSpace::kElections, Access::kWrite, "jobs/nightly"));
  EXPECT_FALSE(Allowed(locks, PermissionSpace::kLocks, Access::kRead, "jobs/nightly"));
}

TEST(Permission, TheEmptyPrefixGrantsTheWholeNamespace) {
  const Permission all = Keys(Access::kRead, "");
  EXPECT_TRUE(Reads(all, Range("", "", true)));
  EXPECT_TRUE(Reads(all, Range("/x", kAll)));
  EXPECT_TRUE(Reads(all, Range("/anything", "")));
  const Permission high = Keys(Access::kRead, "\xff");
  EXPECT_TRUE(Reads(high, Range("\xff", kAll))) << "every key from \\xff on starts with it";
}

TEST(Permission, OneGrantMustCoverTheWholeRange) {
  const std::vector<Permission> grants = {Keys(Access::kRead, "/a/"), Keys(Access::kRead, "/b/")};
  EXPECT_TRUE(Allowed(grants, PermissionSpace::kKeys, Access::kRead, "/b/1"));
  EXPECT_TRUE(MayRead(grants, PermissionSpace::kKeys, "/a/1"));
  EXPECT_FALSE(MayRead(grants, PermissionSpace::kKeys, "/c/1"));
  EXPECT_FALSE(Allowed(grants, PermissionSpace::kKeys, Access::kRead, Range("/a/", "/b0")))
      << "not pieced together from two grants";
  EXPECT_FALSE(Allowed({}, PermissionSpace::kKeys, Access::kRead, "/a/1")) << "no grants";
}

}  // namespace
}  // namespace coord::server
