#include "server/codec.h"

#include <gtest/gtest.h>

#include "peer.pb.h"

namespace coord::server {
namespace {

TEST(CodecTest, BinaryRoundTrip) {
  coord::v1::Request r;
  r.set_id(7);
  r.mutable_put()->set_key("/a");
  auto d = DecodeRequest(r.SerializeAsString(), false);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->id(), 7u);
  EXPECT_EQ(d->put().key(), "/a");
}

TEST(CodecTest, JsonRequestUsesTheProtobufMapping) {
  auto d = DecodeRequest(R"({"id":"3","put":{"key":"/k","value":"aGk="}})", true);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->id(), 3u);
  EXPECT_EQ(d->put().value(), "hi");
}

TEST(CodecTest, BadInputIsInvalidArgument) {
  for (auto [payload, text] : std::vector<std::pair<std::string, bool>>{
           {"\xff\xff\xff\xff", false},           // not protobuf
           {"{\"id\": 1, \"put\": ", true},       // truncated JSON
           {"{\"id\": 1, \"bogus\": {}}", true},  // unknown field
           {"{\"id\": 1}", true},                 // no body
           {"", false},                           // empty = no body
       }) {
    auto d = DecodeRequest(payload, text);
    ASSERT_FALSE(d.ok()) << payload;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(d.status().message().empty());
  }
}

// A binary put whose key is not UTF-8 (the bytes of a valid key patched).
std::string NonUtf8Put(uint64_t id) {
  coord::v1::Request r;
  r.set_id(id);
  r.mutable_put()->set_key("/k\xC3\xA9");
  r.mutable_put()->set_value("v");
  std::string wire = r.SerializeAsString();
  const size_t at = wire.find("\xC3\xA9");
  wire[at] = '\xFF';
  wire[at + 1] = '\xFE';
  return wire;
}

// Defect 16: a non-UTF-8 key was refused with id 0, so the client waited for its
// full deadline. The id is read from the wire without decoding the key.
TEST(CodecTest, AFrameThatFailsToDecodeStillNamesItsId) {
  uint64_t id = 0;
  auto d = DecodeRequest(NonUtf8Put(77), false, &id);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("UTF-8"), std::string::npos) << d.status();
  EXPECT_EQ(id, 77u);
  EXPECT_EQ(PeekRequestId(NonUtf8Put(1ull << 40)), 1ull << 40);
  EXPECT_EQ(PeekRequestId("\xff\xff\xff\xff"), 0u);
  EXPECT_EQ(PeekRequestId(""), 0u);
  // JSON: no body, or an unknown field, still names the id (defect 17).
  ASSERT_FALSE(DecodeRequest(R"({"id":"12"})", true, &id).ok());
  EXPECT_EQ(id, 12u);
  ASSERT_FALSE(DecodeRequest(R"({"id":"13","bogus":{},"put":{"key":"/k"}})", true, &id).ok());
  EXPECT_EQ(id, 13u);
  ASSERT_FALSE(DecodeRequest(R"({"id":"14","put":)", true, &id).ok());
  EXPECT_EQ(id, 0u);
}

TEST(CodecTest, ServerMessageJsonIsParseable) {
  coord::v1::ServerMessage m;
  m.mutable_response()->set_id(9);
  m.mutable_response()->mutable_range()->set_count(2);
  const std::string json = EncodeServerMessage(m, true);
  EXPECT_NE(json.find("\"range\""), std::string::npos) << json;
  coord::v1::ServerMessage back;
  ASSERT_TRUE(back.ParseFromString(EncodeServerMessage(m, false)));
  EXPECT_EQ(back.response().id(), 9u);
}

TEST(CodecTest, InternalCodesMapToApiCodes) {
  EXPECT_EQ(ApiError(Status::NotLeader("x"), "h:1").code(), coord::v1::UNAVAILABLE);
  EXPECT_EQ(ApiError(Status::NotLeader("x"), "h:1").leader_hint(), "h:1");
  EXPECT_EQ(ApiError(Status::Aborted("x"), "").code(), coord::v1::UNAVAILABLE);
  EXPECT_EQ(ApiError(Status::Corruption("x"), "").code(), coord::v1::INTERNAL);
  EXPECT_EQ(ApiError(Status::TooLarge("x"), "h").code(), coord::v1::TOO_LARGE);
  EXPECT_EQ(ApiError(Status::TooLarge("x"), "h").leader_hint(), "");
}

TEST(CodecTest, RequestTypeNames) {
  coord::v1::Request r;
  EXPECT_EQ(RequestTypeName(r), "none");
  r.mutable_watch_create();
  EXPECT_EQ(RequestTypeName(r), "watch_create");
}

TEST(ForwardEnvelopeTest, RoundTripsRequestAndReply) {
  pb::PeerEnvelope e;
  e.mutable_forward()->set_forward_id(42);
  e.mutable_forward()->mutable_request()->mutable_put()->set_key("/f");
  e.mutable_forward()->set_timeout_ms(900);
  pb::PeerEnvelope back;
  ASSERT_TRUE(back.ParseFromString(e.SerializeAsString()));
  EXPECT_EQ(back.forward().forward_id(), 42u);
  EXPECT_EQ(back.forward().request().put().key(), "/f");
  pb::PeerEnvelope reply;
  reply.mutable_reply()->set_forward_id(42);
  reply.mutable_reply()->set_retryable(true);
  ASSERT_TRUE(back.ParseFromString(reply.SerializeAsString()));
  EXPECT_TRUE(back.has_reply());
  EXPECT_TRUE(back.reply().retryable());
}

}  // namespace
}  // namespace coord::server
