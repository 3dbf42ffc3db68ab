// Access control on a real 3-member ensemble of its own (docs/security.md): users
// and roles set up while auth is off, then enabled; logins by password and token
// through the client library, coordctl and a raw WebSocket (the browser path,
// the token in Sec-WebSocket-Protocol); a read-only user on /a/ that cannot write
// it, cannot read /b/, and whose watch on "/" delivers only /a/ events; a write
// forwarded by a follower refused by the leader's apply; token expiry
// (--auth-token-ttl 3) and transparent re-login; a password change ending logins;
// and disable / enable round trips that never lock root out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "cluster.h"
#include "coord/client/client.h"
#include "env.h"
#include "test_process.h"
#include "ws_client.h"

namespace coord::test {
namespace {

using namespace std::chrono_literals;
using coord::v1::Request;
using coord::v1::Response;
using Op = coord::v1::UserChangeRequest;
using RoleOp = coord::v1::RoleChangeRequest;

constexpr int kTokenTtlSeconds = 3;

Request UserChange(Op::Op op, const std::string& name, const std::string& password = "",
                   const std::string& role = "") {
  Request r;
  auto* c = r.mutable_user_change();
  c->set_op(op);
  c->set_name(name);
  c->set_password(password);
  c->set_role(role);
  return r;
}

Request Grant(const std::string& role, coord::v1::Permission::Space space,
              coord::v1::Permission::Access access, const std::string& prefix) {
  Request r;
  auto* c = r.mutable_role_change();
  c->set_op(RoleOp::GRANT);
  c->set_name(role);
  c->mutable_permission()->set_space(space);
  c->mutable_permission()->set_access(access);
  c->mutable_permission()->set_prefix(prefix);
  return r;
}

Request AuthSet(bool enabled) {
  Request r;
  r.mutable_auth_set()->set_enabled(enabled);
  return r;
}

Request Authenticate(const std::string& name, const std::string& password) {
  Request r;
  r.mutable_authenticate()->set_name(name);
  r.mutable_authenticate()->set_password(password);
  return r;
}

Request RangeOf(const std::string& key, bool prefix = false) {
  Request r;
  r.mutable_range()->set_key(key);
  r.mutable_range()->set_prefix(prefix);
  return r;
}

coord::v1::ErrorCode CodeOf(const Result<Response>& r) {
  return r.ok() ? r->error().code() : coord::v1::INTERNAL;
}

class Auth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensemble_ = new Ensemble(3, 30);
    ensemble_->set_extra_args({"--auth-token-ttl", std::to_string(kTokenTtlSeconds)});
    ASSERT_TRUE(ensemble_->StartAll().ok());
    auto leader = ensemble_->WaitStableLeader(20s);
    ASSERT_TRUE(leader.ok()) << leader.status();
    leader_ = *leader;

    // Set up while auth is off (anyone may), then enable.
    auto admin = Make(Endpoints(), ClientOptions());
    auto call = [&](Request r) {
      auto out = admin->Call(r);
      EXPECT_TRUE(out.ok()) << r.ShortDebugString() << ": " << out.status();
    };
    call(UserChange(Op::ADD, "root", "root-pw"));
    auto early = admin->Call(AuthSet(true));
    ASSERT_FALSE(early.ok()) << "enabling before root has role root must be refused";
    EXPECT_EQ(early.status().code(), StatusCode::kInvalidArgument) << early.status();
    call(UserChange(Op::GRANT_ROLE, "root", "", "root"));
    Request role;
    role.mutable_role_change()->set_op(RoleOp::ADD);
    role.mutable_role_change()->set_name("reader");
    call(role);
    call(Grant("reader", coord::v1::Permission::KEYS, coord::v1::Permission::READ, "/a/"));
    call(UserChange(Op::ADD, "alice", "alice-pw"));
    call(UserChange(Op::GRANT_ROLE, "alice", "", "reader"));
    call(AuthSet(true));
  }
  static void TearDownTestSuite() { delete ensemble_; }

  static std::string Endpoints() {
    std::string out;
    for (int i = 0; i < 3; ++i) out += (i ? "," : "") + ensemble_->member(i).client_address;
    return out;
  }
  static std::string Follower() {
    return ensemble_->member((leader_ + 1) % 3).client_address;
  }
  static std::unique_ptr<Client> Make(const std::string& endpoints, ClientOptions o) {
    o.endpoints = endpoints;
    auto c = Client::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  static ClientOptions As(const std::string& user, const std::string& password) {
    ClientOptions o;
    o.user = user;
    o.password = password;
    return o;
  }
  // A raw connection logged in as `user`; its token in *token.
  static std::unique_ptr<WsClient> RawLogin(const std::string& address, const std::string& user,
                                            const std::string& password,
                                            std::string* token = nullptr) {
    auto ws = WsClient::Connect(address);
    EXPECT_TRUE(ws.ok()) << ws.status();
    if (!ws.ok()) return nullptr;
    auto login = (*ws)->Call(Authenticate(user, password));
    EXPECT_EQ(CodeOf(login), coord::v1::OK) << (login.ok() ? login->ShortDebugString() : "");
    if (token != nullptr && login.ok()) *token = login->authenticate().token();
    return std::move(*ws);
  }

  static Ensemble* ensemble_;
  static int leader_;
};

Ensemble* Auth::ensemble_ = nullptr;
int Auth::leader_ = 0;

TEST_F(Auth, AnonymousClientsAndWrongPasswordsAreRefusedWithTheirOwnCodes) {
  auto anonymous = Make(Endpoints(), ClientOptions());
  auto put = anonymous->Put("/a/anon", "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kUnauthenticated) << put.status();
  Request members;
  members.mutable_member_list();
  auto listed = anonymous->Call(members);
  ASSERT_TRUE(listed.ok()) << "member_list needs no login: " << listed.status();
  EXPECT_EQ(listed->member_list().members_size(), 3);

  auto wrong = Make(Endpoints(), As("alice", "not-her-password"));
  auto got = wrong->Get("/a/x", 3s);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnauthenticated) << got.status();
  EXPECT_NE(got.status().message().find("wrong user name or password"), std::string::npos)
      << got.status();
  auto nobody = Make(Endpoints(), As("nobody", "x"));
  auto also = nobody->Get("/a/x", 3s);
  EXPECT_EQ(also.status().code(), StatusCode::kUnauthenticated)
      << "an unknown user gets the same answer: " << also.status();
}

TEST_F(Auth, AReadOnlyUserReadsItsPrefixOnlyAndItsWatchSeesOnlyThat) {
  auto root = Make(Endpoints(), As("root", "root-pw"));
  ASSERT_TRUE(root->Put("/a/x", "ax").ok());
  ASSERT_TRUE(root->Put("/b/y", "by").ok());
  // Alice talks to a follower only.
  auto alice = Make(Follower(), As("alice", "alice-pw"));
  auto got = alice->Get("/a/x");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value(), "ax");
  auto write = alice->Put("/a/x", "mine");
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), StatusCode::kPermissionDenied) << write.status();
  auto other = alice->Get("/b/y");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied) << other.status();
  coord::v1::RangeRequest all;
  all.set_key("/");
  all.set_prefix(true);
  EXPECT_EQ(alice->Range(all).status().code(), StatusCode::kPermissionDenied)
      << "a range reaching past /a/ needs a grant covering all of it";

  // A watch on "/" (allowed: any logged-in user) delivers only keys alice may read.
  auto ws = RawLogin(Follower(), "alice", "alice-pw");
  ASSERT_NE(ws, nullptr);
  Request watch;
  watch.mutable_watch_create()->set_key("/");
  watch.mutable_watch_create()->set_prefix(true);
  auto created = ws->Call(watch);
  ASSERT_EQ(CodeOf(created), coord::v1::OK);
  for (const char* key : {"/b/1", "/a/1", "/b/2", "/a/2"}) {
    ASSERT_TRUE(root->Put(key, "v").ok()) << key;
  }
  std::vector<std::string> seen;
  while (seen.empty() || seen.back() != "/a/2") {
    auto pushed = ws->NextPushed(10s);
    ASSERT_TRUE(pushed.ok()) << "seen so far: " << seen.size();
    for (const auto& e : pushed->watch().events()) seen.push_back(e.kv().key());
  }
  // Events come in revision order: /b/ events would have come before /a/2.
  EXPECT_EQ(seen, (std::vector<std::string>{"/a/1", "/a/2"}));
}

TEST_F(Auth, AWriteForwardedByAFollowerIsCheckedWhereItIsApplied) {
  // The follower passes lock requests on unchecked; the leader's apply (and every
  // member's) refuses them for alice, who has no lock rights.
  auto alice = Make(Follower(), As("alice", "alice-pw"));
  Request create;
  create.mutable_session_create()->set_ttl_ms(10'000);
  auto session = alice->Call(create);
  ASSERT_TRUE(session.ok()) << "sessions need only a login: " << session.status();
  Request lock;
  lock.mutable_lock_acquire()->set_name("/a/lock");
  lock.mutable_lock_acquire()->set_session(session->session_create().session_id());
  auto acquired = alice->Call(lock);
  ASSERT_FALSE(acquired.ok());
  EXPECT_EQ(acquired.status().code(), StatusCode::kPermissionDenied) << acquired.status();
  // Certainly not applied: the lock was never created.
  auto root = Make(Endpoints(), As("root", "root-pw"));
  Request inspect;
  inspect.mutable_lock_inspect()->set_name("/a/lock");
  auto state = root->Call(inspect);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), StatusCode::kNotFound) << state.status();
}

TEST_F(Auth, AGrantAcknowledgedByTheLeaderIsHonouredAtOnceOnEveryMember) {
  // A follower that has not applied the grant yet must not refuse on its stale
  // view: it refuses only after catching up with every committed write.
  auto root = Make(ensemble_->member(leader_).client_address, As("root", "root-pw"));
  ASSERT_TRUE(root->Call(UserChange(Op::ADD, "carol", "carol-pw")).ok());
  std::vector<std::unique_ptr<Client>> carols;
  for (int i = 1; i <= 2; ++i) {
    carols.push_back(Make(ensemble_->member((leader_ + i) % 3).client_address, As("carol", "carol-pw")));
  }
  for (int round = 0; round < 10; ++round) {
    const std::string role = "grant-race-" + std::to_string(round);
    const std::string prefix = "/race/" + std::to_string(round) + "/";
    Request add;
    add.mutable_role_change()->set_op(RoleOp::ADD);
    add.mutable_role_change()->set_name(role);
    ASSERT_TRUE(root->Call(add).ok());
    ASSERT_TRUE(root->Call(UserChange(Op::GRANT_ROLE, "carol", "", role)).ok());
    ASSERT_TRUE(
        root->Call(Grant(role, coord::v1::Permission::KEYS, coord::v1::Permission::READWRITE,
                         prefix))
            .ok());
    for (auto& carol : carols) {
      auto put = carol->Put(prefix + "k", "v");
      EXPECT_TRUE(put.ok()) << "round " << round << ": " << put.status();
      auto got = carol->Get(prefix + "k");
      EXPECT_TRUE(got.ok()) << "round " << round << ": " << got.status();
    }
  }
}

TEST_F(Auth, TokensExpireAndTheLibraryLogsInAgain) {
  std::string token;
  auto ws = RawLogin(Follower(), "alice", "alice-pw", &token);
  ASSERT_NE(ws, nullptr);
  ASSERT_FALSE(token.empty());
  // The token works on another connection, to another member, without the password.
  auto other = WsClient::Connect(ensemble_->member(leader_).client_address);
  ASSERT_TRUE(other.ok());
  Request with_token;
  with_token.mutable_authenticate()->set_token(token);
  ASSERT_EQ(CodeOf((*other)->Call(with_token)), coord::v1::OK);
  ASSERT_EQ(CodeOf((*other)->Call(RangeOf("/a/x"))), coord::v1::OK);

  // A library client with the password keeps working across the expiry.
  auto alice = Make(Endpoints(), As("alice", "alice-pw"));
  ASSERT_TRUE(alice->Get("/a/x").ok());
  const uint64_t connections = alice->connection_count();

  Result<Response> expired = Status::Internal("not yet");
  ASSERT_TRUE(WaitFor(
      [&] {
        expired = ws->Call(RangeOf("/a/x"));
        return CodeOf(expired) == coord::v1::UNAUTHENTICATED;
      },
      std::chrono::seconds(kTokenTtlSeconds + 5)));
  EXPECT_NE(expired->error().message().find("expired"), std::string::npos)
      << expired->ShortDebugString();
  ASSERT_EQ(CodeOf((*other)->Call(with_token)), coord::v1::UNAUTHENTICATED)
      << "an expired token is refused at login too";
  ClientOptions token_only;
  token_only.token = token;
  auto stale = Make(Endpoints(), token_only);
  EXPECT_EQ(stale->Get("/a/x", 3s).status().code(), StatusCode::kUnauthenticated);

  auto after = alice->Get("/a/x");
  ASSERT_TRUE(after.ok()) << "the library logs in again: " << after.status();
  EXPECT_GT(alice->connection_count(), connections) << "on a new connection";
}

TEST_F(Auth, TheBrowserPathCarriesTheTokenInTheSubprotocolHeader) {
  std::string token;
  auto login = RawLogin(Follower(), "alice", "alice-pw", &token);
  ASSERT_FALSE(token.empty());
  // What `new WebSocket(url, ["coord.v1", "coord.token." + token])` sends.
  auto ws = WsClient::Connect(Follower(), 3000ms, "coord.v1, coord.token." + token);
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_EQ((*ws)->accepted_subprotocol(), "coord.v1") << "a browser needs one echoed";
  auto got = (*ws)->Call(RangeOf("/a/x"), /*json=*/true);
  ASSERT_EQ(CodeOf(got), coord::v1::OK) << (got.ok() ? got->ShortDebugString() : "");
  EXPECT_EQ(CodeOf((*ws)->Call(RangeOf("/b/y"), true)), coord::v1::PERMISSION_DENIED);

  auto forged = WsClient::Connect(Follower(), 3000ms, "coord.token.c1.Zm9v.YmFy");
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ((*forged)->accepted_subprotocol(), "coord.token.c1.Zm9v.YmFy");
  auto refused = (*forged)->Call(RangeOf("/a/x"), true);
  ASSERT_EQ(CodeOf(refused), coord::v1::UNAUTHENTICATED);
  EXPECT_NE(refused->error().message().find("Sec-WebSocket-Protocol"), std::string::npos)
      << refused->ShortDebugString();
}

TEST_F(Auth, APasswordChangeEndsTheUsersLogins) {
  auto root = Make(Endpoints(), As("root", "root-pw"));
  ASSERT_TRUE(root->Call(UserChange(Op::ADD, "bob", "bob-1")).ok());
  ASSERT_TRUE(root->Call(UserChange(Op::GRANT_ROLE, "bob", "", "reader")).ok());
  auto bob = RawLogin(Follower(), "bob", "bob-1");
  ASSERT_NE(bob, nullptr);
  ASSERT_EQ(CodeOf(bob->Call(RangeOf("/a/x"))), coord::v1::OK);
  ASSERT_TRUE(root->Call(UserChange(Op::PASSWD, "bob", "bob-2")).ok());
  Result<Response> ended = Status::Internal("not yet");
  ASSERT_TRUE(WaitFor(
      [&] {
        ended = bob->Call(RangeOf("/a/x"));
        return CodeOf(ended) == coord::v1::UNAUTHENTICATED;
      },
      5s))
      << "the follower applies the change within moments";
  EXPECT_NE(ended->error().message().find("changed"), std::string::npos)
      << ended->ShortDebugString();
  EXPECT_EQ(CodeOf(bob->Call(Authenticate("bob", "bob-1"))), coord::v1::UNAUTHENTICATED);
  EXPECT_EQ(CodeOf(bob->Call(Authenticate("bob", "bob-2"))), coord::v1::OK);
  EXPECT_EQ(CodeOf(bob->Call(RangeOf("/a/x"))), coord::v1::OK);
}

TEST_F(Auth, AConnectionThatDoesNotAuthenticateIsClosedAfterTenSeconds) {
  auto idle = WsClient::Connect(Follower());
  ASSERT_TRUE(idle.ok());
  auto logged_in = RawLogin(Follower(), "alice", "alice-pw");
  ASSERT_NE(logged_in, nullptr);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*idle)->WaitClosed(20s)) << "the first-message timeout";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 9s) << "not before its grace";
  EXPECT_FALSE(logged_in->WaitClosed(0ms));
  // The logged-in one outlived the grace: relogin, since its token may have expired.
  EXPECT_EQ(CodeOf(logged_in->Call(Authenticate("alice", "alice-pw"))), coord::v1::OK);
  EXPECT_EQ(CodeOf(logged_in->Call(RangeOf("/a/x"))), coord::v1::OK);
}

#ifdef COORDCTL_PATH
TEST_F(Auth, CoordctlManagesUsersAndTurnsAuthOffAndOnAgain) {
  const std::string pw = ensemble_->root() + "/root.pw";
  std::ofstream(pw) << "root-pw\n";
  const std::string alice_pw = ensemble_->root() + "/alice.pw";
  std::ofstream(alice_pw) << "alice-pw\n";
  auto ctl = [&](std::vector<std::string> args) {
    std::vector<std::string> full = {"--endpoints", Endpoints()};
    full.insert(full.end(), args.begin(), args.end());
    return RunChild(COORDCTL_PATH, full);
  };
  auto as_root = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--user", "root", "--password-file", pw});
    return ctl(args);
  };
  const ChildResult status = as_root({"auth", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("auth enabled user root roles root"), std::string::npos)
      << status.out;
  const ChildResult users = as_root({"user", "list"});
  ASSERT_EQ(users.exit_code, 0) << users.err;
  EXPECT_NE(users.out.find("alice roles reader"), std::string::npos) << users.out;
  const ChildResult roles = as_root({"role", "list"});
  EXPECT_NE(roles.out.find("reader keys:read:\"/a/\""), std::string::npos) << roles.out;

  const ChildResult denied =
      ctl({"--user", "alice", "--password-file", alice_pw, "put", "/a/ctl", "v"});
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("may not write"), std::string::npos) << denied.err;
  EXPECT_NE(ctl({"user", "list"}).exit_code, 0) << "anonymous";
  EXPECT_NE(as_root({"user", "delete", "root"}).exit_code, 0) << "root cannot be deleted";

  ASSERT_EQ(as_root({"auth", "disable"}).exit_code, 0);
  const ChildResult open_put = ctl({"put", "/b/open", "v"});
  EXPECT_EQ(open_put.exit_code, 0) << "auth off: anyone writes: " << open_put.err;
  // Credentials against a member without auth are simply not needed.
  EXPECT_EQ(as_root({"get", "/b/open"}).exit_code, 0);
  ASSERT_EQ(as_root({"auth", "enable"}).exit_code, 0);
  EXPECT_NE(ctl({"put", "/b/closed", "v"}).exit_code, 0) << "auth on again";
  const ChildResult after = as_root({"get", "/b/open"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
}
#endif

}  // namespace
}  // namespace coord::test
