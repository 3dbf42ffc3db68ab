// End-to-end: session create / keepalive / list / close through coordctl.
#include "cli_env.h"
#include "coord.pb.h"

namespace coord::test {
namespace {

using coord::v1::SessionCreateResponse;
using coord::v1::SessionKeepAliveResponse;
using coord::v1::SessionListResponse;

TEST(CtlSession, CreateKeepaliveListCloseInText) {
  CtlResult c = Ctl({"session", "create", "--ttl", "20s"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // "session ID ttl 20000ms"
  ASSERT_EQ(c.out.rfind("session ", 0), 0u) << c.out;
  const std::string id = c.out.substr(8, c.out.find(' ', 8) - 8);
  EXPECT_EQ(c.out, "session " + id + " ttl 20000ms\n");
  CtlResult k = Ctl({"session", "keepalive", id});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(k.out, "session " + id + " ttl 20000ms\n");
  CtlResult l = Ctl({"session", "list"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("session " + id + " ttl 20000ms remaining "), std::string::npos) << l.out;
  CtlResult x = Ctl({"session", "close", id});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_EQ(x.out, "OK\n");
  EXPECT_EQ(Ctl({"session", "list"}).out.find("session " + id + " "), std::string::npos);
}

TEST(CtlSession, CreateKeepaliveListCloseInJson) {
  CtlResult c = Ctl({"-o", "json", "session", "create", "--ttl", "15"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const auto created = FromJson<SessionCreateResponse>(c.lines().at(0));
  ASSERT_GT(created.session_id(), 0);
  EXPECT_EQ(created.ttl_ms(), 15000);
  const std::string id = std::to_string(created.session_id());
  CtlResult k = Ctl({"-o", "json", "session", "keepalive", id});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(FromJson<SessionKeepAliveResponse>(k.lines().at(0)).session_id(), created.session_id());
  CtlResult l = Ctl({"-o", "json", "session", "list"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  ASSERT_EQ(l.lines().size(), 1u);  // one object for the whole list
  bool found = false;
  const auto sessions = FromJson<SessionListResponse>(l.lines()[0]);
  for (const auto& s : sessions.sessions()) {
    if (s.session_id() == created.session_id()) {
      found = true;
      EXPECT_EQ(s.ttl_ms(), 15000);
      EXPECT_GT(s.remaining_ms(), 0);
    }
  }
  EXPECT_TRUE(found) << l.out;
  CtlResult x = Ctl({"-o", "json", "session", "close", id});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_NE(x.out.find("\"header\""), std::string::npos);
}

TEST(CtlSession, UnknownOrClosedSessionsAndBadIds) {
  CtlResult c = Ctl({"-o", "json", "session", "create"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const auto created = FromJson<SessionCreateResponse>(c.lines().at(0));
  EXPECT_EQ(created.ttl_ms(), 10000);  // the default TTL
  const std::string id = std::to_string(created.session_id());
  ASSERT_EQ(Ctl({"session", "close", id}).exit_code, 0);
  CtlResult k = Ctl({"session", "keepalive", id});
  EXPECT_EQ(k.exit_code, 6) << k.err;
  EXPECT_EQ(k.out, "");
  // A session id that never existed.
  ExpectFailure(Ctl({"session", "keepalive", "987654321987"}), 3, "NOT_FOUND");
  ExpectFailure(Ctl({"session", "keepalive", "abc"}), 2, "ID");
  ExpectFailure(Ctl({"session", "close", "0"}), 2, "ID");
  ExpectFailure(Ctl({"session", "create", "--ttl", "0.2"}), 2, "--ttl");
  ExpectFailure(Ctl({"session", "create", "extra"}), 2, "unexpected argument");
}

}  // namespace
}  // namespace coord::test
