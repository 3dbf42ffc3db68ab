// Unit tests of the request builders (requests.h): what each command sends, and
// that bad arguments fail before anything is sent.
#include "requests.h"

#include <gtest/gtest.h>

#include "command_table.h"

namespace coord::ctl {
namespace {

Invocation Inv(std::vector<std::string> argv) {
  auto inv = ParseCommandLine(argv, CommandTable());
  EXPECT_TRUE(inv.ok()) << inv.status();
  return inv.ok() ? *inv : Invocation{};
}

TEST(BuildRequests, PutWithSessionAndSequential) {
  auto r = BuildPut(Inv({"put", "/q/", "job", "--session", "12", "--sequential"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->put().key(), "/q/");
  EXPECT_EQ(r->put().value(), "job");
  EXPECT_EQ(r->put().session(), 12);
  EXPECT_TRUE(r->put().sequential());
  EXPECT_FALSE(BuildPut(Inv({"put", "/k", "v", "--session", "0"})).ok());
  EXPECT_FALSE(BuildPut(Inv({"put", "/k", "v", "--session", "x"})).ok());
  EXPECT_FALSE(BuildPut(Inv({"put", "", "v"})).ok());
}

TEST(BuildRequests, GetFlagsMapToTheRangeRequest) {
  auto r = BuildGet(Inv(
      {"get", "/a/", "--prefix", "--rev", "17", "--serializable", "--limit", "3", "--keys-only"}));
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& g = r->range();
  EXPECT_EQ(g.key(), "/a/");
  EXPECT_TRUE(g.prefix());
  EXPECT_EQ(g.revision(), 17);
  EXPECT_TRUE(g.serializable());
  EXPECT_EQ(g.limit(), 3);
  EXPECT_TRUE(g.keys_only());
  EXPECT_FALSE(g.count_only());
  // The empty prefix is every key; an empty single key is an error.
  EXPECT_TRUE(BuildGet(Inv({"get", "", "--prefix"})).ok());
  EXPECT_FALSE(BuildGet(Inv({"get", ""})).ok());
  EXPECT_FALSE(BuildGet(Inv({"get", "/a", "--rev", "0"})).ok());
  EXPECT_FALSE(BuildGet(Inv({"get", "/a", "--rev", "-4"})).ok());
  EXPECT_FALSE(BuildGet(Inv({"get", "/a", "--keys-only", "--count-only"})).ok());
}

TEST(BuildRequests, DeleteRefusesTheEmptyPrefix) {
  auto r = BuildDelete(Inv({"del", "/a/", "--prefix"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->delete_().key(), "/a/");
  EXPECT_TRUE(r->delete_().prefix());
  EXPECT_FALSE(BuildDelete(Inv({"del", "", "--prefix"})).ok());
}

TEST(BuildRequests, CasIsATxnOnTheVersion) {
  auto r = BuildCas(Inv({"cas", "/k", "3", "new"}));
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& t = r->txn();
  ASSERT_EQ(t.compare_size(), 1);
  EXPECT_EQ(t.compare(0).key(), "/k");
  EXPECT_EQ(t.compare(0).target(), coord::v1::Compare::VERSION);
  EXPECT_EQ(t.compare(0).op(), coord::v1::Compare::EQUAL);
  EXPECT_EQ(t.compare(0).number(), 3);
  ASSERT_EQ(t.success_size(), 1);
  EXPECT_EQ(t.success(0).put().key(), "/k");
  EXPECT_EQ(t.success(0).put().value(), "new");
  ASSERT_EQ(t.failure_size(), 1);
  EXPECT_EQ(t.failure(0).range().key(), "/k");
  EXPECT_FALSE(t.conflict_on_failure());
  EXPECT_TRUE(BuildCas(Inv({"cas", "/k", "0", "v"})).ok());  // create if absent
  EXPECT_FALSE(BuildCas(Inv({"cas", "/k", "-1", "v"})).ok());
  EXPECT_FALSE(BuildCas(Inv({"cas", "/k", "one", "v"})).ok());
}

TEST(BuildRequests, WatchAndCount) {
  auto r = BuildWatch(Inv({"watch", "/w/", "--prefix", "--rev", "5", "--prev-kv"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->watch_create().key(), "/w/");
  EXPECT_TRUE(r->watch_create().prefix());
  EXPECT_EQ(r->watch_create().start_revision(), 5);
  EXPECT_TRUE(r->watch_create().prev_kv());
  EXPECT_EQ(*EventCount(Inv({"watch", "/w", "--count", "4"})), 4);
  EXPECT_EQ(*EventCount(Inv({"watch", "/w"})), 0);
  EXPECT_FALSE(EventCount(Inv({"watch", "/w", "--count", "0"})).ok());
}

TEST(BuildRequests, Sessions) {
  auto c = BuildSessionCreate(Inv({"session", "create", "--ttl", "30"}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->session_create().ttl_ms(), 30000);
  EXPECT_EQ(BuildSessionCreate(Inv({"session", "create"}))->session_create().ttl_ms(), 10000);
  EXPECT_EQ(
      BuildSessionCreate(Inv({"session", "create", "--ttl", "1500ms"}))->session_create().ttl_ms(),
      1500);
  EXPECT_FALSE(BuildSessionCreate(Inv({"session", "create", "--ttl", "500ms"})).ok());
  EXPECT_EQ(
      BuildSessionKeepAlive(Inv({"session", "keepalive", "9"}))->session_keepalive().session_id(),
      9);
  EXPECT_EQ(BuildSessionClose(Inv({"session", "close", "9"}))->session_close().session_id(), 9);
  EXPECT_FALSE(BuildSessionClose(Inv({"session", "close", "0"})).ok());
  EXPECT_FALSE(BuildSessionKeepAlive(Inv({"session", "keepalive", "abc"})).ok());
}

TEST(BuildRequests, TwoPhaseCommit) {
  auto b = BuildTxBegin(
      Inv({"tx", "begin", "--participants", "inv,bill", "--timeout", "7s", "--payload", "p1"}));
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->tpc_begin().participants_size(), 2);
  EXPECT_EQ(b->tpc_begin().participants(1), "bill");
  EXPECT_EQ(b->tpc_begin().timeout_ms(), 7000);
  EXPECT_EQ(b->tpc_begin().payload(), "p1");
  EXPECT_FALSE(BuildTxBegin(Inv({"tx", "begin"})).ok());
  EXPECT_FALSE(BuildTxBegin(Inv({"tx", "begin", "--participants", "a,a"})).ok());

  auto v = BuildTxVote(Inv({"tx", "vote", "7", "inv", "no"}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->tpc_vote().txn_id(), 7u);
  EXPECT_EQ(v->tpc_vote().participant(), "inv");
  EXPECT_EQ(v->tpc_vote().vote(), coord::v1::TPC_VOTE_NO);
  EXPECT_EQ(BuildTxVote(Inv({"tx", "vote", "7", "inv", "yes"}))->tpc_vote().vote(),
            coord::v1::TPC_VOTE_YES);
  EXPECT_FALSE(BuildTxVote(Inv({"tx", "vote", "7", "inv", "maybe"})).ok());
  EXPECT_FALSE(BuildTxVote(Inv({"tx", "vote", "0", "inv", "yes"})).ok());
  EXPECT_EQ(BuildTxAck(Inv({"tx", "ack", "8", "inv"}))->tpc_ack().txn_id(), 8u);
  EXPECT_EQ(BuildTxGet(Inv({"tx", "get", "9"}))->tpc_get().txn_id(), 9u);
  EXPECT_FALSE(BuildTxGet(Inv({"tx", "get", "x9"})).ok());
  auto l = BuildTxList(Inv({"tx", "list", "--participant", "bill", "--limit", "2"}));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tpc_list().participant(), "bill");
  EXPECT_EQ(l->tpc_list().limit(), 2);
  EXPECT_FALSE(l->tpc_list().subscribe());
}

TEST(BuildRequests, Members) {
  auto a = BuildMemberAdd(Inv({"member", "add", "m4", "127.0.0.4:7421", "--learner",
                               "--client-address", "127.0.0.4:7420"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->member_add().name(), "m4");
  EXPECT_EQ(a->member_add().peer_address(), "127.0.0.4:7421");
  EXPECT_EQ(a->member_add().client_address(), "127.0.0.4:7420");
  EXPECT_TRUE(a->member_add().learner());
  EXPECT_FALSE(BuildMemberAdd(Inv({"member", "add", "m4", "127.0.0.4"})).ok());
  EXPECT_FALSE(BuildMemberAdd(Inv({"member", "add", "m4", "a:1,b:2"})).ok());
  EXPECT_EQ(BuildMemberPromote(Inv({"member", "promote", "m4"}))->member_promote().name(), "m4");
  EXPECT_EQ(BuildMemberRemove(Inv({"member", "remove", "m4"}))->member_remove().name(), "m4");
}

}  // namespace
}  // namespace coord::ctl
