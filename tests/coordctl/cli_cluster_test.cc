// End-to-end: member, status, snapshot save and tx (2PC) through coordctl.
#include <fstream>

#include "cli_env.h"
#include "coord.pb.h"

namespace coord::test {
namespace {

using coord::v1::MemberAddResponse;
using coord::v1::MemberListResponse;
using coord::v1::StatusResponse;
using coord::v1::TpcBeginResponse;
using coord::v1::TpcGetResponse;
using coord::v1::TpcListResponse;
using coord::v1::TpcVoteResponse;

TEST(CtlCluster, MemberListInTextAndJson) {
  Ensemble& e = SharedEnsemble();
  CtlResult text = Ctl({"member", "list"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  ASSERT_EQ(text.lines().size(), 3u) << text.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(text.out.find(e.member(i).name + " id "), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("peer " + e.member(i).peer_address), std::string::npos) << text.out;
  }
  CtlResult json = Ctl({"-o", "json", "member", "list"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto list = FromJson<MemberListResponse>(json.lines().at(0));
  ASSERT_EQ(list.members_size(), 3);
  for (const auto& m : list.members()) {
    EXPECT_NE(m.id(), 0u);
    EXPECT_FALSE(m.learner());
  }
}

TEST(CtlCluster, StatusNamesTheLeaderInTextAndJson) {
  Ensemble& e = SharedEnsemble();
  CtlResult put = Ctl({"-o", "json", "put", Fresh("/ctl/status"), "x"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const int64_t written = FromJson<coord::v1::PutResponse>(put.lines().at(0)).revision();
  auto leader = e.WaitStableLeader(std::chrono::seconds(20));
  ASSERT_TRUE(leader.ok());
  const std::string leader_name = e.member(*leader).name;
  // Ask the leader itself, so that every member's figures are known.
  CtlResult text = RunCtl({"--endpoints", e.member(*leader).client_address, "status"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  ASSERT_EQ(text.lines().size(), 4u) << text.out;
  EXPECT_EQ(text.lines()[0].rfind("leader " + leader_name + " id ", 0), 0u) << text.out;
  EXPECT_NE(text.out.find(leader_name + " id "), std::string::npos);
  EXPECT_NE(text.out.find(" leader term "), std::string::npos) << text.out;
  CtlResult json =
      RunCtl({"--endpoints", e.member(*leader).client_address, "-o", "json", "status"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto st = FromJson<StatusResponse>(json.lines().at(0));
  EXPECT_EQ(st.leader_name(), leader_name);
  EXPECT_EQ(st.members_size(), 3);
  EXPECT_GE(st.revision(), written);
}

// coordctl against the leader: it knows the names of members added at runtime at
// once (the others learn them from its hellos, within half a second).
CtlResult AtLeader(std::vector<std::string> args) {
  Ensemble& e = SharedEnsemble();
  auto leader = e.WaitStableLeader(20s);
  EXPECT_TRUE(leader.ok());
  args.insert(args.begin(), {"--endpoints", e.member(leader.ok() ? *leader : 0).client_address});
  return RunCtl(args);
}

// Retries a membership change refused while another one commits (exit 5).
CtlResult MembershipChange(const std::vector<std::string>& args) {
  CtlResult r;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  do {
    r = AtLeader(args);
  } while (r.exit_code == 5 && std::chrono::steady_clock::now() < deadline);
  return r;
}

TEST(CtlCluster, MemberAddLearnerPromoteRemove) {
  Ensemble& e = SharedEnsemble();
  const int spare = e.AddSpare();
  const MemberProcess& m = e.member(spare);
  CtlResult add = MembershipChange({"-o", "json", "member", "add", m.name, m.peer_address,
                                    "--learner", "--client-address", m.client_address});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  const auto added = FromJson<MemberAddResponse>(add.lines().at(0));
  EXPECT_EQ(added.member().name(), m.name);
  EXPECT_EQ(added.member().peer_address(), m.peer_address);
  EXPECT_TRUE(added.member().learner());
  CtlResult list = AtLeader({"member", "list"});
  ASSERT_EQ(list.lines().size(), 4u) << list.out;
  EXPECT_NE(list.out.find(m.name + " id " + std::to_string(added.member().id()) + " peer " +
                          m.peer_address + " client " + m.client_address + " learner"),
            std::string::npos)
      << list.out;
  // Adding the same name again is refused by the server.
  CtlResult again = AtLeader({"member", "add", m.name, m.peer_address, "--learner"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.exit_code, 2);
  EXPECT_EQ(again.out, "");

  // Start it, promote it once it caught up, then remove it again.
  ASSERT_TRUE(e.Start(spare).ok());
  CtlResult promote = MembershipChange({"member", "promote", m.name});
  ASSERT_EQ(promote.exit_code, 0) << promote.err;
  EXPECT_EQ(promote.out, "OK\n");
  CtlResult voters = AtLeader({"-o", "json", "member", "list"});
  const auto after = FromJson<MemberListResponse>(voters.lines().at(0));
  ASSERT_EQ(after.members_size(), 4);
  for (const auto& member : after.members()) EXPECT_FALSE(member.learner()) << member.name();
  CtlResult rm = MembershipChange({"member", "remove", m.name});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "OK\n");
  EXPECT_EQ(AtLeader({"member", "list"}).lines().size(), 3u);
  e.Stop(spare);
  ASSERT_TRUE(e.WaitStableLeader(20s).ok());
}

TEST(CtlCluster, MemberErrors) {
  ExpectFailure(Ctl({"member", "add", "m9", "nocolon"}), 2, "PEERHOST:PORT");
  ExpectFailure(Ctl({"member", "promote"}), 2, "missing arguments");
  // The server refuses to remove a non-member (NOT_FOUND: exit 3).
  ExpectFailure(Ctl({"member", "remove", "nosuchmember"}), 3, "no member named");
  // The server promotes only learners: an unknown name is NOT_FOUND (exit 3), a
  // voter CONFLICT (exit 4).
  ExpectFailure(Ctl({"member", "promote", "nosuchmember"}), 3, "no learner named");
  ExpectFailure(Ctl({"member", "promote", SharedEnsemble().member(0).name}), 4, "already a voter");
}

TEST(CtlCluster, SnapshotSaveWritesEveryKeyAtOneRevision) {
  const std::string p = Fresh("/ctl/snap") + "/";
  for (const char* s : {"a", "b"})
    ASSERT_EQ(Ctl({"put", p + s, std::string("val-") + s}).exit_code, 0);
  const std::string file = SharedEnsemble().root() + "/" + Fresh("snap") + ".jsonl";
  CtlResult r = Ctl({"-o", "json", "snapshot", "save", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = JsonStruct(r.lines().at(0));
  EXPECT_EQ(StructString(summary, "file"), file);
  const int64_t revision = std::stoll(StructString(summary, "revision"));
  const int64_t keys = std::stoll(StructString(summary, "keys"));
  EXPECT_GE(keys, 2);

  std::ifstream in(file);
  ASSERT_TRUE(in.good());
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto header = JsonStruct(line);
  EXPECT_EQ(StructString(header, "format"), "coord-keys-v1");
  EXPECT_EQ(StructString(header, "revision"), std::to_string(revision));
  int64_t n = 0;
  std::string previous;
  bool saw_a = false;
  while (std::getline(in, line)) {
    const auto kv = FromJson<coord::v1::KeyValue>(line);
    EXPECT_GT(kv.key(), previous);  // key order, no duplicates
    EXPECT_LE(kv.mod_revision(), revision);
    previous = kv.key();
    if (kv.key() == p + "a") {
      saw_a = true;
      EXPECT_EQ(kv.value(), "val-a");
    }
    ++n;
  }
  EXPECT_EQ(n, keys);
  EXPECT_TRUE(saw_a);

  CtlResult text = Ctl({"snapshot", "save", file});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("saved ", 0), 0u) << text.out;
  ExpectFailure(Ctl({"snapshot", "save", "/nonexistent-dir/x"}), 1, "cannot create");
}

TEST(CtlTx, BeginVoteCommitAckInTextAndJson) {
  const std::string a = Fresh("inv"), b = Fresh("bill");
  CtlResult begin = Ctl({"-o", "json", "tx", "begin", "--participants", a + "," + b, "--timeout",
                         "60s", "--payload", "order 1"});
  ASSERT_EQ(begin.exit_code, 0) << begin.err;
  const auto started = FromJson<TpcBeginResponse>(begin.lines().at(0));
  ASSERT_GT(started.txn_id(), 0u);
  EXPECT_EQ(started.timeout_ms(), 60000);
  const std::string id = std::to_string(started.txn_id());

  CtlResult v1 = Ctl({"tx", "vote", id, a, "yes"});
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  EXPECT_EQ(v1.out, "PREPARING\n");
  CtlResult owes = Ctl({"-o", "json", "tx", "list", "--participant", b});
  ASSERT_EQ(owes.exit_code, 0) << owes.err;
  const auto listed = FromJson<TpcListResponse>(owes.lines().at(0));
  ASSERT_EQ(listed.txns_size(), 1) << owes.out;
  EXPECT_EQ(listed.txns(0).txn_id(), started.txn_id());
  EXPECT_EQ(listed.txns(0).payload(), "order 1");

  CtlResult v2 = Ctl({"-o", "json", "tx", "vote", id, b, "yes"});
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  EXPECT_EQ(FromJson<TpcVoteResponse>(v2.lines().at(0)).state(), coord::v1::TPC_COMMITTED);
  CtlResult get = Ctl({"tx", "get", id});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "txn " + id + " COMMITTED participants " + a + "=YES," + b +
                         "=YES timeout 60000ms payload \"order 1\"\n");
  // A contradicting vote is a conflict.
  ExpectFailure(Ctl({"tx", "vote", id, a, "no"}), 4, "");
  EXPECT_EQ(Ctl({"tx", "ack", id, a}).out, "OK\n");
  CtlResult last = Ctl({"-o", "json", "tx", "ack", id, b});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_TRUE(JsonStruct(last.lines().at(0)).fields().at("forgotten").bool_value());
  ExpectFailure(Ctl({"tx", "get", id}), 3, "");
}

TEST(CtlTx, NoVoteAbortsAndListShowsIt) {
  const std::string a = Fresh("pa"), b = Fresh("pb");
  CtlResult begin = Ctl({"tx", "begin", "--participants", a + "," + b});
  ASSERT_EQ(begin.exit_code, 0) << begin.err;
  // "txn ID timeout 30000ms"
  ASSERT_EQ(begin.out.rfind("txn ", 0), 0u) << begin.out;
  const std::string id = begin.out.substr(4, begin.out.find(' ', 4) - 4);
  EXPECT_EQ(begin.out, "txn " + id + " timeout 30000ms\n");
  CtlResult no = Ctl({"tx", "vote", id, b, "no"});
  ASSERT_EQ(no.exit_code, 0) << no.err;
  EXPECT_EQ(no.out, "ABORTED\n");
  CtlResult get = Ctl({"-o", "json", "tx", "get", id});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  const auto txn = FromJson<TpcGetResponse>(get.lines().at(0)).txn();
  EXPECT_EQ(txn.state(), coord::v1::TPC_ABORTED);
  EXPECT_NE(txn.reason().find(b), std::string::npos) << txn.reason();
  CtlResult all = Ctl({"tx", "list"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("txn " + id + " ABORTED"), std::string::npos) << all.out;
  // Errors: a non-participant, an unknown txn, bad arguments.
  CtlResult stranger = Ctl({"tx", "vote", id, "stranger", "yes"});
  EXPECT_EQ(stranger.exit_code, 1) << stranger.err;  // PERMISSION_DENIED
  ExpectFailure(Ctl({"tx", "get", "999999999"}), 3, "");
  ExpectFailure(Ctl({"tx", "vote", id, a, "perhaps"}), 2, "yes|no");
  ExpectFailure(Ctl({"tx", "begin"}), 2, "--participants");
}

}  // namespace
}  // namespace coord::test
