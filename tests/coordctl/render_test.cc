// Unit tests of output rendering (render.h, output.h) and the exit-code policy
// (exit_codes.h).
#include "render.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "exit_codes.h"
#include "output.h"

namespace coord::ctl {
namespace {

using coord::v1::Request;
using coord::v1::Response;

Response WithHeader(int64_t revision) {
  Response r;
  r.mutable_header()->set_revision(revision);
  r.mutable_header()->set_member_id(7);
  return r;
}

TEST(Json, QuoteEscapesControlCharactersAndQuotes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(JsonObject().Str("k", "v").Int("n", -3).Uint("u", 5).Bool("b", true).ToString(),
            "{\"k\":\"v\",\"n\":\"-3\",\"u\":\"5\",\"b\":true}");
}

TEST(Json, ResponseJsonPutsTheHeaderFirstAndKeepsZeroFields) {
  coord::v1::PutResponse put;
  put.set_key("/a");
  put.set_revision(12);
  coord::v1::ResponseHeader h;
  h.set_revision(12);
  const std::string json = ResponseJson(put, h);
  EXPECT_EQ(json.rfind("{\"header\":{\"revision\":\"12\"", 0), 0u) << json;
  EXPECT_NE(json.find("\"key\":\"/a\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"revision\":\"12\"}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"raftTerm\":\"0\""), std::string::npos) << json;  // zero printed
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(RenderResponse, GetTextAndJson) {
  Request req;
  req.mutable_range()->set_key("/a");
  req.mutable_range()->set_prefix(true);
  Response r = WithHeader(9);
  auto* kv = r.mutable_range()->add_kvs();
  kv->set_key("/a/1");
  kv->set_value("one");
  kv->set_version(2);
  kv = r.mutable_range()->add_kvs();
  kv->set_key("/a/2");
  kv->set_value("two");
  r.mutable_range()->set_count(2);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "/a/1\none\n/a/2\ntwo");
  const std::string json = RenderResponse(req, r, OutputFormat::kJson);
  EXPECT_NE(json.find("\"kvs\":[{\"key\":\"/a/1\",\"value\":\"b25l\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"version\":\"2\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"count\":\"2\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"more\":false"), std::string::npos) << json;
  req.mutable_range()->set_keys_only(true);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "/a/1\n/a/2");
  req.mutable_range()->set_keys_only(false);
  req.mutable_range()->set_count_only(true);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "2");
}

TEST(RenderResponse, TextOfTheOtherBodies) {
  Request req;
  Response r = WithHeader(5);
  r.mutable_put()->set_key("/q/00000000000000000001");
  r.mutable_put()->set_revision(5);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "OK /q/00000000000000000001 revision 5");
  r.mutable_delete_()->set_deleted(3);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "3");
  r.mutable_session_create()->set_session_id(42);
  r.mutable_session_create()->set_ttl_ms(10000);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "session 42 ttl 10000ms");
  r.mutable_session_close();
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "OK");
  r.mutable_tpc_vote()->set_state(coord::v1::TPC_COMMITTED);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText), "COMMITTED");
  auto* txn = r.mutable_tpc_get()->mutable_txn();
  txn->set_txn_id(7);
  txn->set_state(coord::v1::TPC_ABORTED);
  txn->set_timeout_ms(30000);
  txn->set_reason("vote NO by b");
  auto* p = txn->add_participants();
  p->set_name("a");
  p->set_vote(coord::v1::TPC_VOTE_YES);
  p->set_acked(true);
  p = txn->add_participants();
  p->set_name("b");
  p->set_vote(coord::v1::TPC_VOTE_NO);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText),
            "txn 7 ABORTED participants a=YES+acked,b=NO timeout 30000ms reason \"vote NO by b\"");
  auto* m = r.mutable_member_list()->add_members();
  m->set_id(11);
  m->set_name("m1");
  m->set_peer_address("127.0.0.1:7421");
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText),
            "m1 id 11 peer 127.0.0.1:7421 client - voter");
  auto* st = r.mutable_status();
  st->set_leader_name("m2");
  st->set_leader_id(12);
  st->set_revision(40);
  auto* ms = st->add_members();
  ms->set_name("m2");
  ms->set_id(12);
  ms->set_role("leader");
  ms->set_term(3);
  ms->set_reachable(true);
  EXPECT_EQ(RenderResponse(req, r, OutputFormat::kText),
            "leader m2 id 12 revision 40 compacted 0\n"
            "m2 id 12 leader term 3 commit 0 applied 0 reachable");
}

TEST(RenderResponse, EmptyBodyJsonIsTheBodyPlusHeader) {
  Response r = WithHeader(3);
  r.mutable_member_remove();
  EXPECT_EQ(RenderResponse(Request(), r, OutputFormat::kJson),
            "{\"header\":{\"revision\":\"3\",\"raftTerm\":\"0\",\"memberId\":\"7\","
            "\"compactedRevision\":\"0\"}}");
}

TEST(RenderStreams, EventsLeadersLocks) {
  coord::v1::Event e;
  e.set_type(coord::v1::Event::PUT);
  e.mutable_kv()->set_key("/w/a");
  e.mutable_kv()->set_value("1");
  e.mutable_kv()->set_mod_revision(8);
  EXPECT_EQ(RenderEvent(e, OutputFormat::kText), "PUT /w/a 8\n1");
  EXPECT_NE(RenderEvent(e, OutputFormat::kJson).find("\"type\":\"PUT\""), std::string::npos);
  e.set_type(coord::v1::Event::DELETE);
  EXPECT_EQ(RenderEvent(e, OutputFormat::kText), "DELETE /w/a 8");
  EXPECT_NE(RenderEvent(e, OutputFormat::kJson).find("\"type\":\"DELETE\""), std::string::npos);

  coord::v1::ElectionLeader l;
  l.set_name("/e");
  EXPECT_EQ(RenderLeader(l, OutputFormat::kText), "/e no leader");
  l.set_session(5);
  l.set_value("v1");
  l.set_term(2);
  EXPECT_EQ(RenderLeader(l, OutputFormat::kText), "/e leader v1 term 2 session 5");
  EXPECT_EQ(RenderLeader(l, OutputFormat::kJson),
            "{\"name\":\"/e\",\"session\":\"5\",\"value\":\"djE=\",\"term\":\"2\"}");

  EXPECT_EQ(RenderLockHeld("/l", 5, 9, false, OutputFormat::kText), "/l token 9 session 5");
  EXPECT_EQ(RenderLockHeld("/l", 5, 9, true, OutputFormat::kJson),
            "{\"name\":\"/l\",\"session\":\"5\",\"token\":\"9\",\"shared\":true}");
  EXPECT_EQ(RenderSnapshotSaved("f", 10, 2, 300, OutputFormat::kJson),
            "{\"file\":\"f\",\"revision\":\"10\",\"keys\":\"2\",\"bytes\":\"300\"}");
}

TEST(RenderCas, FailureMessageNamesTheActualVersion) {
  coord::v1::TxnResponse t;
  EXPECT_EQ(CasFailureMessage("/k", 2, t),
            "compare failed: \"/k\" does not exist, expected version 2");
  t.add_results()->mutable_range()->add_kvs()->set_version(5);
  EXPECT_EQ(CasFailureMessage("/k", 0, t),
            "compare failed: \"/k\" has version 5, expected it not to exist");
}

TEST(Printer, JsonModeEmitsOnlyTheJsonLine) {
  std::ostringstream text_out, json_out;
  Printer text(OutputFormat::kText, text_out), json(OutputFormat::kJson, json_out);
  text.Emit("hello", "{}");
  json.Emit("hello", "{}");
  text.Emit("", "{}");  // nothing to say in text mode
  EXPECT_EQ(text_out.str(), "hello\n");
  EXPECT_EQ(json_out.str(), "{}\n");
}

TEST(ExitCodes, DistinctCodesPerClassOfError) {
  EXPECT_EQ(ExitCodeFor(StatusCode::kOk), kExitOk);
  EXPECT_EQ(ExitCodeFor(StatusCode::kNotFound), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(StatusCode::kConflict), kExitConflict);
  EXPECT_EQ(ExitCodeFor(StatusCode::kUnavailable), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(StatusCode::kTimeout), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(StatusCode::kSessionExpired), kExitSessionLost);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInternal), kExitError);
  EXPECT_EQ(ExitCodeFor(StatusCode::kCompacted), kExitError);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInvalidArgument), kExitError);
  const std::set<int> distinct = {kExitOk,       kExitError,       kExitUsage,      kExitNotFound,
                                  kExitConflict, kExitUnavailable, kExitSessionLost};
  EXPECT_EQ(distinct.size(), 7u);
}

TEST(ExitCodes, OutcomeMessagesAreOneLine) {
  Outcome o = FromStatus(Status::NotFound("key\n\"/a\"\r\nnot found"));
  EXPECT_EQ(o.exit_code, kExitNotFound);
  EXPECT_EQ(o.message, "NOT_FOUND: key \"/a\"  not found");
  EXPECT_TRUE(FromStatus(Status::Ok()).ok());
  Outcome u = UsageError("bad\nflag");
  EXPECT_EQ(u.exit_code, kExitUsage);
  EXPECT_EQ(u.message, "bad flag");
}

}  // namespace
}  // namespace coord::ctl
