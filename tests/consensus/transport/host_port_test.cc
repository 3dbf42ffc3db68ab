#include "transport/host_port.h"

#include <gtest/gtest.h>

namespace coord::raft::transport {
namespace {

TEST(HostPortTest, ParsesHostAndPort) {
  Result<HostPort> a = ParseHostPort("127.0.0.2:7421");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.2");
  EXPECT_EQ(a->port, 7421);

  Result<HostPort> b = ParseHostPort("node-a.coord:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "node-a.coord");
  EXPECT_EQ(b->port, 0);

  Result<HostPort> c = ParseHostPort("[::1]:65535");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 65535);
}

TEST(HostPortTest, RefusesMalformedAddresses) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "host:65536", "host:-1",
                          "host:80x", "::1:80", "[::1]80", "[::1", "[]:80"}) {
    Result<HostPort> r = ParseHostPort(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HostPortTest, FormatBracketsIpv6) {
  EXPECT_EQ(FormatHostPort("127.0.0.1", 80), "127.0.0.1:80");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  Result<HostPort> back = ParseHostPort(FormatHostPort("::1", 80));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->host, "::1");
}

}  // namespace
}  // namespace coord::raft::transport
