// End-to-end: put, get, del, cas and watch through the real coordctl binary
// against a real 3-member ensemble, in text and JSON.
#include <signal.h>

#include "cli_env.h"
#include "coord.pb.h"

namespace coord::test {
namespace {

using coord::v1::DeleteResponse;
using coord::v1::Event;
using coord::v1::PutResponse;
using coord::v1::RangeResponse;
using coord::v1::Response;
using coord::v1::TxnResponse;

TEST(CtlKv, PutAndGetInText) {
  const std::string k = Fresh("/ctl/kv/text");
  CtlResult put = Ctl({"put", k, "hello world"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out.rfind("OK " + k + " revision ", 0), 0u) << put.out;
  EXPECT_EQ(put.err, "");
  CtlResult get = Ctl({"get", k});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, k + "\nhello world\n");
}

TEST(CtlKv, PutAndGetInJson) {
  const std::string k = Fresh("/ctl/kv/json");
  CtlResult put = Ctl({"-o", "json", "put", k, "v1"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_EQ(put.lines().size(), 1u) << put.out;
  const auto p = FromJson<PutResponse>(put.lines()[0]);
  EXPECT_EQ(p.key(), k);
  EXPECT_GT(p.revision(), 0);
  const auto header = FromJson<Response>(put.lines()[0]).header();
  EXPECT_EQ(header.revision(), p.revision());
  EXPECT_NE(header.member_id(), 0u);

  ASSERT_EQ(Ctl({"put", k, "v2"}).exit_code, 0);
  CtlResult get = Ctl({"get", k, "-o", "json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  ASSERT_EQ(get.lines().size(), 1u);
  const auto r = FromJson<RangeResponse>(get.lines()[0]);
  ASSERT_EQ(r.kvs_size(), 1);
  EXPECT_EQ(r.kvs(0).value(), "v2");  // base64 in the JSON, decoded by the mapping
  EXPECT_EQ(r.kvs(0).version(), 2);
  EXPECT_EQ(r.kvs(0).create_revision(), p.revision());
  EXPECT_EQ(r.count(), 1);
  // The raw line carries lowerCamel names and the base64 value.
  EXPECT_NE(get.out.find("\"modRevision\""), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("\"value\":\"djI=\""), std::string::npos) << get.out;

  // Reading at the first revision sees v1.
  CtlResult old = Ctl({"get", k, "--rev", std::to_string(p.revision()), "-o", "json"});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_EQ(FromJson<RangeResponse>(old.lines()[0]).kvs(0).value(), "v1");
}

TEST(CtlKv, GetPrefixSerializableKeysOnlyCountOnlyLimit) {
  const std::string p = Fresh("/ctl/kv/prefix") + "/";
  for (const char* s : {"a", "b", "c"}) {
    ASSERT_EQ(Ctl({"put", p + s, std::string("v") + s}).exit_code, 0);
  }
  CtlResult all = Ctl({"get", p, "--prefix"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, p + "a\nva\n" + p + "b\nvb\n" + p + "c\nvc\n");
  CtlResult keys = Ctl({"get", p, "--prefix", "--keys-only"});
  EXPECT_EQ(keys.out, p + "a\n" + p + "b\n" + p + "c\n");
  CtlResult count = Ctl({"get", p, "--prefix", "--count-only"});
  EXPECT_EQ(count.out, "3\n");
  CtlResult limited = Ctl({"-o", "json", "get", p, "--prefix", "--limit", "2"});
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  const auto r = FromJson<RangeResponse>(limited.lines()[0]);
  EXPECT_EQ(r.kvs_size(), 2);
  EXPECT_TRUE(r.more());
  EXPECT_EQ(r.count(), 3);
  // A serializable read is answered by the member itself and may lag; each member
  // converges to all three keys (waited for with a deadline, not assumed).
  for (int m = 0; m < 3; ++m) {
    const std::string endpoint = SharedEnsemble().member(m).client_address;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    CtlResult ser;
    do {
      ser =
          RunCtl({"--endpoints", endpoint, "get", p, "--prefix", "--serializable", "--count-only"});
      ASSERT_EQ(ser.exit_code, 0) << ser.err;
    } while (ser.out != "3\n" && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(ser.out, "3\n") << "member " << m;
  }
  // An empty prefix is an empty result, not an error.
  CtlResult none = Ctl({"get", p + "zzz", "--prefix"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "");
}

TEST(CtlKv, SequentialPutsAndKeysStartingWithADash) {
  const std::string q = Fresh("/ctl/kv/queue") + "/";
  CtlResult a = Ctl({"-o", "json", "put", q, "job1", "--sequential"});
  CtlResult b = Ctl({"put", q, "job2", "--sequential"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string first = FromJson<PutResponse>(a.lines().at(0)).key();
  EXPECT_EQ(first.size(), q.size() + 20) << first;
  EXPECT_EQ(first.rfind(q, 0), 0u);
  // The text output names the generated key, which sorts after the first one.
  const std::string second = b.out.substr(3, b.out.find(" revision") - 3);
  EXPECT_GT(second, first);
  EXPECT_EQ(Ctl({"get", second}).out, second + "\njob2\n");
  // After "--", a key may start with '-'.
  const std::string dash = "-" + Fresh("dash");
  ASSERT_EQ(Ctl({"put", "--", dash, "v"}).exit_code, 0);
  EXPECT_EQ(Ctl({"get", "--", dash}).out, dash + "\nv\n");
}

TEST(CtlKv, GetOfAMissingKeyExitsNotFound) {
  const std::string k = Fresh("/ctl/kv/missing");
  ExpectFailure(Ctl({"get", k}), 3, "key \"" + k + "\" not found");
  ExpectFailure(Ctl({"-o", "json", "get", k}), 3, "not found");
}

TEST(CtlKv, DeleteKeyAndPrefix) {
  const std::string p = Fresh("/ctl/kv/del") + "/";
  for (const char* s : {"a", "b", "c"}) ASSERT_EQ(Ctl({"put", p + s, "x"}).exit_code, 0);
  CtlResult one = Ctl({"del", p + "a"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "1\n");
  CtlResult rest = Ctl({"-o", "json", "del", p, "--prefix"});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(FromJson<DeleteResponse>(rest.lines()[0]).deleted(), 2);
  EXPECT_EQ(Ctl({"get", p, "--prefix", "--count-only"}).out, "0\n");
  // Deleting nothing is fine (0).
  EXPECT_EQ(Ctl({"del", p + "a"}).out, "0\n");
}

TEST(CtlKv, CasSucceedsOnTheExpectedVersionOnly) {
  const std::string k = Fresh("/ctl/kv/cas");
  // Version 0: create only if absent.
  CtlResult create = Ctl({"cas", k, "0", "first"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  EXPECT_EQ(create.out.rfind("OK " + k + " revision ", 0), 0u) << create.out;
  ExpectFailure(Ctl({"cas", k, "0", "again"}), 4,
                "compare failed: \"" + k + "\" has version 1, expected it not to exist");
  CtlResult second = Ctl({"-o", "json", "cas", k, "1", "second"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(FromJson<TxnResponse>(second.lines()[0]).succeeded());
  ExpectFailure(Ctl({"cas", k, "1", "stale"}), 4, "has version 2, expected version 1");
  ExpectFailure(Ctl({"cas", Fresh("/ctl/kv/cas-absent"), "3", "v"}), 4, "does not exist");
  EXPECT_EQ(Ctl({"get", k}).out, k + "\nsecond\n");
}

TEST(CtlKv, WatchFromARevisionPrintsTheEventsInText) {
  const std::string p = Fresh("/ctl/kv/watch") + "/";
  CtlResult first = Ctl({"-o", "json", "put", p + "a", "1"});
  ASSERT_EQ(first.exit_code, 0);
  const int64_t rev = FromJson<PutResponse>(first.lines()[0]).revision();
  ASSERT_EQ(Ctl({"del", p + "a"}).exit_code, 0);
  // Starting at `rev` replays both events whatever the timing; --count ends it.
  auto w = StartCtl({"watch", p, "--prefix", "--rev", std::to_string(rev), "--count", "3"});
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(Ctl({"put", p + "b", "2"}).exit_code, 0);
  CtlResult r = w->Finish();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"PUT " + p + "a " + std::to_string(rev), "1",
                                      "DELETE " + p + "a " + std::to_string(rev + 1),
                                      "PUT " + p + "b " + std::to_string(rev + 2), "2"}));
}

TEST(CtlKv, WatchInJsonOneEventPerLineUntilSigterm) {
  const std::string k = Fresh("/ctl/kv/watchjson");
  CtlResult first = Ctl({"-o", "json", "put", k, "a"});
  const int64_t rev = FromJson<PutResponse>(first.lines()[0]).revision();
  auto w = StartCtl({"-o", "json", "watch", k, "--rev", std::to_string(rev), "--prev-kv"});
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(Ctl({"put", k, "b"}).exit_code, 0);
  ASSERT_TRUE(w->WaitLines(2)) << w->Err();
  w->Signal(SIGTERM);
  CtlResult r = w->Finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;  // ended by a signal: success
  ASSERT_EQ(r.lines().size(), 2u) << r.out;
  const Event e0 = FromJson<Event>(r.lines()[0]);
  const Event e1 = FromJson<Event>(r.lines()[1]);
  EXPECT_EQ(e0.type(), Event::PUT);
  EXPECT_EQ(e0.kv().value(), "a");
  EXPECT_EQ(e1.kv().value(), "b");
  EXPECT_EQ(e1.kv().mod_revision(), rev + 1);
  EXPECT_EQ(e1.prev_kv().value(), "a");
}

TEST(CtlKv, WatchBelowTheCompactedRevisionOrOfAnEmptyKeyFails) {
  ExpectFailure(Ctl({"watch", ""}), 2, "KEY must not be empty");
  ExpectFailure(Ctl({"watch", "/x", "--count", "0"}), 2, "--count");
}

TEST(CtlKv, EphemeralPutWithASession) {
  CtlResult s = Ctl({"-o", "json", "session", "create", "--ttl", "30"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const int64_t id = FromJson<coord::v1::SessionCreateResponse>(s.lines()[0]).session_id();
  ASSERT_GT(id, 0);
  const std::string k = Fresh("/ctl/kv/ephemeral");
  ASSERT_EQ(Ctl({"put", k, "mine", "--session", std::to_string(id)}).exit_code, 0);
  CtlResult get = Ctl({"-o", "json", "get", k});
  ASSERT_EQ(get.exit_code, 0);
  EXPECT_EQ(FromJson<RangeResponse>(get.lines()[0]).kvs(0).session(), id);
  ASSERT_EQ(Ctl({"session", "close", std::to_string(id)}).exit_code, 0);
  ExpectFailure(Ctl({"get", k}), 3, "not found");
  // A put on the closed session fails with the session's code (6).
  CtlResult late = Ctl({"put", k, "again", "--session", std::to_string(id)});
  EXPECT_NE(late.exit_code, 0);
  EXPECT_EQ(late.exit_code, 6) << late.err;
}

}  // namespace
}  // namespace coord::test
