#include "transport/frame_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace coord::raft::transport {
namespace {

const uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

pb::PeerFrame RaftFrame(NodeId from, uint64_t cluster, NodeId message_from) {
  pb::PeerFrame f;
  f.set_from(from);
  f.set_cluster_id(cluster);
  f.mutable_raft()->set_type(pb::MSG_HEARTBEAT);
  f.mutable_raft()->set_from(message_from);
  f.mutable_raft()->set_to(2);
  f.mutable_raft()->set_term(7);
  return f;
}

TEST(FrameCodecTest, HeaderIsBigEndian) {
  auto h = EncodeFrameHeader(0x01020304);
  EXPECT_EQ(h[0], 0x01);
  EXPECT_EQ(h[1], 0x02);
  EXPECT_EQ(h[2], 0x03);
  EXPECT_EQ(h[3], 0x04);
  Result<uint32_t> n = DecodeFrameHeader(h.data(), 0x7fffffff);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0x01020304u);
}

TEST(FrameCodecTest, RoundTripRaftMessage) {
  pb::PeerFrame in = RaftFrame(1, 42, 1);
  in.mutable_raft()->add_entries()->set_data("payload");
  Result<std::string> wire = EncodeFrame(in, 1 << 20);
  ASSERT_TRUE(wire.ok()) << wire.status();
  ASSERT_EQ(wire->size(), kFrameHeaderBytes + in.ByteSizeLong());

  Result<uint32_t> n = DecodeFrameHeader(Bytes(*wire), 1 << 20);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, in.ByteSizeLong());
  Result<pb::PeerFrame> out = DecodeFrameBody(Bytes(*wire) + kFrameHeaderBytes, *n, 42);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->from(), 1u);
  EXPECT_EQ(out->raft().term(), 7u);
  ASSERT_EQ(out->raft().entries_size(), 1);
  EXPECT_EQ(out->raft().entries(0).data(), "payload");
}

TEST(FrameCodecTest, RoundTripApp) {
  pb::PeerFrame in;
  in.set_from(3);
  in.set_app(std::string("\0bin\xff", 5));
  Result<std::string> wire = EncodeFrame(in, 1 << 20);
  ASSERT_TRUE(wire.ok());
  Result<pb::PeerFrame> out =
      DecodeFrameBody(Bytes(*wire) + kFrameHeaderBytes, wire->size() - kFrameHeaderBytes, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->app(), std::string("\0bin\xff", 5));
}

TEST(FrameCodecTest, EncodeRefusesFrameAboveLimit) {
  pb::PeerFrame in;
  in.set_from(1);
  in.set_app(std::string(1000, 'x'));
  Result<std::string> wire = EncodeFrame(in, 999);
  ASSERT_FALSE(wire.ok());
  EXPECT_EQ(wire.status().code(), StatusCode::kTooLarge);
  EXPECT_TRUE(EncodeFrame(in, in.ByteSizeLong()).ok());
}

TEST(FrameCodecTest, HeaderRefusesOversizedAndEmpty) {
  auto big = EncodeFrameHeader(1001);
  Result<uint32_t> n = DecodeFrameHeader(big.data(), 1000);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kTooLarge);
  EXPECT_TRUE(DecodeFrameHeader(big.data(), 1001).ok());

  auto zero = EncodeFrameHeader(0);
  Result<uint32_t> z = DecodeFrameHeader(zero.data(), 1000);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.status().code(), StatusCode::kInvalidArgument);
}

TEST(FrameCodecTest, BodyRefusesUndecodableBytes) {
  // Field 3 (raft), length-delimited, claims 127 bytes but only 3 follow.
  const std::string garbage("\x1a\x7f\x01\x02\x03", 5);
  Result<pb::PeerFrame> out = DecodeFrameBody(Bytes(garbage), garbage.size(), 0);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("parse"), std::string::npos);
}

TEST(FrameCodecTest, BodyRefusesWrongClusterId) {
  std::string body = RaftFrame(1, 5, 1).SerializeAsString();
  Result<pb::PeerFrame> out = DecodeFrameBody(Bytes(body), body.size(), 6);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("cluster"), std::string::npos);
  // Our cluster id 0 means "do not check".
  EXPECT_TRUE(DecodeFrameBody(Bytes(body), body.size(), 0).ok());
  // A sender that stamps no cluster id is refused by a member that checks.
  std::string unstamped = RaftFrame(1, 0, 1).SerializeAsString();
  EXPECT_FALSE(DecodeFrameBody(Bytes(unstamped), unstamped.size(), 6).ok());
}

TEST(FrameCodecTest, BodyRefusesMismatchedSender) {
  std::string body = RaftFrame(1, 0, 2).SerializeAsString();
  Result<pb::PeerFrame> out = DecodeFrameBody(Bytes(body), body.size(), 0);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("from"), std::string::npos);
}

TEST(FrameCodecTest, BodyRefusesMissingSenderOrBody) {
  pb::PeerFrame no_sender;
  no_sender.set_app("x");
  std::string a = no_sender.SerializeAsString();
  EXPECT_FALSE(DecodeFrameBody(Bytes(a), a.size(), 0).ok());

  pb::PeerFrame no_body;
  no_body.set_from(1);
  std::string b = no_body.SerializeAsString();
  Result<pb::PeerFrame> out = DecodeFrameBody(Bytes(b), b.size(), 0);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("no body"), std::string::npos);
}

}  // namespace
}  // namespace coord::raft::transport
