// Access control in the state machine (state/auth_table.h, auth_ops.cc): users,
// roles and the switch as replicated commands, the checks every member makes at
// apply time against Command.user, and their place in snapshots.
#include <gtest/gtest.h>

#include "state/auth_table.h"
#include "state_test_util.h"

namespace coord::server::testing {
namespace {

using Op = pb::UserChangeRequest;
using RoleOp = pb::RoleChangeRequest;

Command As(Command c, const std::string& user) {
  c.set_user(user);
  return c;
}

Command UserCmd(Op::Op op, const std::string& name, const std::string& role = "") {
  Command c;
  auto* u = c.mutable_user_change();
  u->set_op(op);
  u->set_name(name);
  u->set_role(role);
  if (op == Op::ADD || op == Op::PASSWD) {
    // What the receiving member fills in (the state machine never hashes).
    u->set_password_salt(std::string(16, 's'));
    u->set_password_hash(std::string(32, op == Op::ADD ? 'h' : 'p'));
    u->set_password_iterations(10'000);
  }
  return c;
}

Command RoleCmd(RoleOp::Op op, const std::string& name, pb::Permission::Space space = {},
                pb::Permission::Access access = {}, const std::string& prefix = "") {
  Command c;
  auto* r = c.mutable_role_change();
  r->set_op(op);
  r->set_name(name);
  r->mutable_permission()->set_space(space);
  r->mutable_permission()->set_access(access);
  r->mutable_permission()->set_prefix(prefix);
  return c;
}

Command AuthSetCmd(bool enabled) {
  Command c;
  c.mutable_auth_set()->set_enabled(enabled);
  if (enabled) c.mutable_auth_set()->set_signing_key(std::string(kSigningKeyBytes, 'k'));
  return c;
}

pb::ErrorCode Code(const ApplyResult& r) { return r.response.error().code(); }

// root (role root) and alice (role reader: read /a/, write locks under jobs/),
// auth enabled.
class AuthState : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Code(d.Apply(UserCmd(Op::ADD, "root"))), pb::OK);
    ASSERT_EQ(Code(d.Apply(AuthSetCmd(true))), pb::INVALID_ARGUMENT)
        << "enabling before root has role root would lock everyone out";
    ASSERT_EQ(Code(d.Apply(UserCmd(Op::GRANT_ROLE, "root", "root"))), pb::OK);
    ASSERT_EQ(Code(d.Apply(RoleCmd(RoleOp::ADD, "reader"))), pb::OK);
    ASSERT_EQ(Code(d.Apply(RoleCmd(RoleOp::GRANT, "reader", pb::Permission::KEYS,
                                   pb::Permission::READ, "/a/"))),
              pb::OK);
    ASSERT_EQ(Code(d.Apply(RoleCmd(RoleOp::GRANT, "reader", pb::Permission::LOCKS,
                                   pb::Permission::WRITE, "jobs/"))),
              pb::OK);
    ASSERT_EQ(Code(d.Apply(UserCmd(Op::ADD, "alice"))), pb::OK);
    ASSERT_EQ(Code(d.Apply(UserCmd(Op::GRANT_ROLE, "alice", "reader"))), pb::OK);
    ASSERT_EQ(Code(d.Apply(AuthSetCmd(true))), pb::OK);
    ASSERT_TRUE(d.sm.auth_enabled());
  }
  Driver d;
};

TEST_F(AuthState, EveryWriteIsCheckedAgainstTheUserOfTheCommand) {
  EXPECT_EQ(Code(d.Apply(PutCmd("/a/x", "1"))), pb::UNAUTHENTICATED) << "no user";
  EXPECT_EQ(Code(d.Apply(As(PutCmd("/a/x", "1"), "mallory"))), pb::UNAUTHENTICATED)
      << "an unknown user";
  const ApplyResult denied = d.Apply(As(PutCmd("/a/x", "1"), "alice"));
  EXPECT_EQ(Code(denied), pb::PERMISSION_DENIED) << "alice may only read /a/";
  EXPECT_NE(denied.response.error().message().find("alice"), std::string::npos);
  EXPECT_EQ(d.sm.revision(), 0) << "a refused write changes nothing";
  EXPECT_EQ(Code(d.Apply(As(PutCmd("/a/x", "1"), "root"))), pb::OK);
  EXPECT_EQ(Code(d.Apply(As(DeleteCmd("/", true), "alice"))), pb::PERMISSION_DENIED);
  EXPECT_EQ(Code(d.Apply(As(CompactCmd(1), "alice"))), pb::PERMISSION_DENIED) << "root only";

  // Locks under jobs/ are alice's; others are not. Sessions need only a login.
  const int64_t session = d.Apply(As(SessionCreateCmd(10'000), "alice"))
                              .response.session_create()
                              .session_id();
  ASSERT_GT(session, 0);
  Command lock;
  lock.mutable_lock_acquire()->set_name("jobs/nightly");
  lock.mutable_lock_acquire()->set_session(session);
  EXPECT_EQ(Code(d.Apply(As(lock, "alice"))), pb::OK);
  lock.mutable_lock_acquire()->set_name("billing");
  EXPECT_EQ(Code(d.Apply(As(lock, "alice"))), pb::PERMISSION_DENIED);

  // Internal commands of the leader carry no user and are not checked.
  EXPECT_EQ(Code(d.Apply(ExpireCmd(session))), pb::OK);
  EXPECT_FALSE(d.sm.HasSession(session));
}

TEST_F(AuthState, EveryCompareAndOpOfBothBranchesOfATxnIsChecked) {
  ASSERT_EQ(Code(d.Apply(As(PutCmd("/b/secret", "s"), "root"))), pb::OK);
  auto txn = [](const std::string& compare_key, const std::string& read_key) {
    Command c;
    auto* t = c.mutable_txn();
    auto* cmp = t->add_compare();
    cmp->set_key(compare_key);
    cmp->set_target(pb::Compare::VERSION);
    cmp->set_op(pb::Compare::GREATER);
    t->add_success()->mutable_range()->set_key("/a/x");
    t->add_failure()->mutable_range()->set_key(read_key);
    t->add_success()->mutable_put()->set_key("/a/y");  // a write: alice may not
    return c;
  };
  // The put is refused whatever the compare says.
  EXPECT_EQ(Code(d.Apply(As(txn("/a/x", "/a/x"), "alice"))), pb::PERMISSION_DENIED);
  Command reads;
  auto* t = reads.mutable_txn();
  auto* cmp = t->add_compare();
  cmp->set_key("/b/secret");  // a compare leaks whether it holds
  cmp->set_target(pb::Compare::VALUE);
  cmp->set_value("s");
  t->add_success()->mutable_range()->set_key("/a/x");
  const Status read_check = d.sm.Authorize("alice", [&] {
    pb::Request r;
    *r.mutable_txn() = reads.txn();
    return r;
  }());
  EXPECT_EQ(read_check.code(), StatusCode::kPermissionDenied) << read_check;
  cmp->set_key("/a/x");
  t->add_failure()->mutable_range()->set_key("/b/secret");  // the other branch too
  pb::Request r;
  *r.mutable_txn() = reads.txn();
  EXPECT_EQ(d.sm.Authorize("alice", r).code(), StatusCode::kPermissionDenied);
  t->mutable_failure(0)->mutable_range()->set_key("/a/z");
  *r.mutable_txn() = reads.txn();
  EXPECT_TRUE(d.sm.Authorize("alice", r).ok());
}

TEST_F(AuthState, ARefusalIsNotRememberedForExactlyOnce) {
  // alice's write is refused; once the role allows it, the retry of the same
  // (client, sequence) applies: the refused attempt was certainly not applied.
  const Command put = WithClient(As(PutCmd("/a/x", "1"), "alice"), 7, 1, 99);
  EXPECT_EQ(Code(d.Apply(put)), pb::PERMISSION_DENIED);
  ASSERT_EQ(Code(d.Apply(As(RoleCmd(RoleOp::GRANT, "reader", pb::Permission::KEYS,
                                    pb::Permission::READWRITE, "/a/"),
                            "root"))),
            pb::OK);
  const ApplyResult retried = d.Apply(put);
  EXPECT_EQ(Code(retried), pb::OK);
  EXPECT_FALSE(retried.duplicate);
  EXPECT_EQ(d.sm.revision(), 1);
}

TEST_F(AuthState, OnlyRootManagesAuthAndRootCannotBeLockedOut) {
  EXPECT_EQ(Code(d.Apply(As(UserCmd(Op::ADD, "eve"), "alice"))), pb::PERMISSION_DENIED);
  EXPECT_EQ(Code(d.Apply(As(UserCmd(Op::GRANT_ROLE, "alice", "root"), "alice"))),
            pb::PERMISSION_DENIED)
      << "no one grants themselves root";
  EXPECT_EQ(Code(d.Apply(As(AuthSetCmd(false), "alice"))), pb::PERMISSION_DENIED);
  // Refused before the receiving member spends a password hash on it, too.
  pb::Request add;
  add.mutable_user_change()->set_name("eve");
  add.mutable_user_change()->set_password("pw");
  EXPECT_EQ(d.sm.Authorize("alice", add).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(d.sm.Authorize("root", add).ok());
  EXPECT_EQ(Code(d.Apply(As(UserCmd(Op::DELETE, "root"), "root"))), pb::INVALID_ARGUMENT);
  EXPECT_EQ(Code(d.Apply(As(UserCmd(Op::REVOKE_ROLE, "root", "root"), "root"))),
            pb::INVALID_ARGUMENT);
  EXPECT_EQ(Code(d.Apply(As(RoleCmd(RoleOp::DELETE, "root"), "root"))), pb::INVALID_ARGUMENT)
      << "the root role is built in";
  Command bad_add = UserCmd(Op::ADD, "eve");
  bad_add.mutable_user_change()->clear_password_hash();
  EXPECT_EQ(Code(d.Apply(As(bad_add, "root"))), pb::INVALID_ARGUMENT) << "no password hash";
  EXPECT_EQ(Code(d.Apply(As(UserCmd(Op::ADD, "bad name"), "root"))), pb::INVALID_ARGUMENT);

  // Disabled, everything is allowed again and the key is gone (every token ends).
  EXPECT_EQ(Code(d.Apply(As(AuthSetCmd(false), "root"))), pb::OK);
  EXPECT_FALSE(d.sm.auth_enabled());
  EXPECT_TRUE(d.sm.auth_signing_key().empty());
  EXPECT_EQ(Code(d.Apply(PutCmd("/b/x", "1"))), pb::OK);
  EXPECT_EQ(Code(d.Apply(UserCmd(Op::DELETE, "root"))), pb::OK) << "allowed while disabled";
  EXPECT_EQ(Code(d.Apply(AuthSetCmd(true))), pb::INVALID_ARGUMENT);
}

TEST_F(AuthState, APasswordChangeGivesANewGenerationAndDeletingARoleTakesIt) {
  const uint64_t before = d.sm.FindUser("alice")->generation;
  ASSERT_EQ(Code(d.Apply(As(UserCmd(Op::PASSWD, "alice"), "root"))), pb::OK);
  EXPECT_GT(d.sm.FindUser("alice")->generation, before);
  ASSERT_EQ(Code(d.Apply(As(UserCmd(Op::DELETE, "alice"), "root"))), pb::OK);
  ASSERT_EQ(Code(d.Apply(As(UserCmd(Op::ADD, "alice"), "root"))), pb::OK);
  EXPECT_GT(d.sm.FindUser("alice")->generation, before + 1) << "generations are never reused";
  ASSERT_EQ(Code(d.Apply(As(UserCmd(Op::GRANT_ROLE, "alice", "reader"), "root"))), pb::OK);
  EXPECT_TRUE(d.sm.MayReadKey("alice", "/a/x"));
  EXPECT_FALSE(d.sm.MayReadKey("alice", "/b/x"));
  ASSERT_EQ(Code(d.Apply(As(RoleCmd(RoleOp::DELETE, "reader"), "root"))), pb::OK);
  EXPECT_FALSE(d.sm.MayReadKey("alice", "/a/x"));
  EXPECT_TRUE(d.sm.RolesOf("alice").empty());
}

TEST_F(AuthState, TheAuthTableIsInTheSnapshotByteForByte) {
  const std::string image = d.sm.Snapshot();
  StateMachine restored;
  ASSERT_TRUE(restored.Restore(image).ok());
  EXPECT_EQ(restored.Snapshot(), image);
  EXPECT_TRUE(restored.auth_enabled());
  EXPECT_EQ(restored.auth_signing_key(), d.sm.auth_signing_key());
  EXPECT_EQ(restored.RolesOf("alice"), std::vector<std::string>{"reader"});
  EXPECT_TRUE(restored.MayReadKey("alice", "/a/1"));
  EXPECT_FALSE(restored.MayReadKey("alice", "/b/1"));
  EXPECT_EQ(restored.ListRoles("").roles_size(), 1);
  EXPECT_EQ(restored.ListUsers("").users_size(), 2);

  // A state that never used auth writes no auth record, in an older format.
  Driver plain;
  plain.Apply(PutCmd("/x", "1"));
  coord::state::StateSnapshot decoded;
  ASSERT_TRUE(decoded.ParseFromString(plain.sm.Snapshot()));
  EXPECT_FALSE(decoded.has_auth());
  EXPECT_LT(decoded.format_version(), 4u);
}

TEST_F(AuthState, UsersRolesAndGrantsAreBounded) {
  // Up to each limit, then RESOURCE_EXHAUSTED and nothing changes.
  for (size_t i = 2; i < kMaxGrantsPerRole; ++i) {  // "reader" has two grants already
    ASSERT_EQ(Code(d.Apply(As(RoleCmd(RoleOp::GRANT, "reader", pb::Permission::KEYS,
                                      pb::Permission::READ, "/g/" + std::to_string(i)),
                              "root"))),
              pb::OK)
        << i;
  }
  EXPECT_EQ(Code(d.Apply(As(RoleCmd(RoleOp::GRANT, "reader", pb::Permission::KEYS,
                                    pb::Permission::READ, "/over/"),
                            "root"))),
            pb::RESOURCE_EXHAUSTED);
  for (size_t i = 0; i < kMaxRolesPerUser; ++i) {
    ASSERT_EQ(Code(d.Apply(As(RoleCmd(RoleOp::ADD, "r" + std::to_string(i)), "root"))), pb::OK);
    const pb::ErrorCode granted =
        Code(d.Apply(As(UserCmd(Op::GRANT_ROLE, "alice", "r" + std::to_string(i)), "root")));
    // alice has "reader" already: the 100th extra role is one too many.
    ASSERT_EQ(granted, i + 1 < kMaxRolesPerUser ? pb::OK : pb::RESOURCE_EXHAUSTED) << i;
  }
  EXPECT_EQ(d.sm.RolesOf("alice").size(), kMaxRolesPerUser);
  for (size_t i = d.sm.ListUsers("").users_size(); i < kMaxUsers; ++i) {
    ASSERT_EQ(Code(d.Apply(As(UserCmd(Op::ADD, "u" + std::to_string(i)), "root"))), pb::OK) << i;
  }
  EXPECT_EQ(Code(d.Apply(As(UserCmd(Op::ADD, "one-more"), "root"))), pb::RESOURCE_EXHAUSTED);
  EXPECT_EQ(static_cast<size_t>(d.sm.ListUsers("").users_size()), kMaxUsers);
}

}  // namespace
}  // namespace coord::server::testing
