// TcpTransport against hand-driven sockets: the wire format, the source address
// of outgoing connections, and refusal of bad input.
#include "coord/consensus/tcp_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>

#include "consensus/transport/transport_test_util.h"

namespace coord::raft::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr uint64_t kCluster = 77;

TEST(TcpTransportWireTest, OutgoingConnectionBindsToListenHost) {
  auto a = StartNode(Options(1, "127.0.0.2"));
  auto b = StartNode(Options(2, "127.0.0.3"));
  a->transport->AddPeer(2, b->address());
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  std::vector<std::string> inbound = b->transport->InboundConnections();
  ASSERT_EQ(inbound.size(), 1u);
  EXPECT_EQ(inbound[0].rfind("127.0.0.2:", 0), 0u) << inbound[0];
}

// A raw listener on 127.0.0.3 sees a connection from 127.0.0.2 carrying exactly
// a 4-byte big-endian length and a PeerFrame.
TEST(TcpTransportWireTest, WireFormatAndSourceAddressSeenByRawListener) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.3"), 0));
  TcpTransportOptions options = Options(1, "127.0.0.2");
  options.cluster_id = kCluster;
  auto a = StartNode(options);
  a->transport->AddPeer(9, "127.0.0.3:" + std::to_string(acceptor.local_endpoint().port()));
  a->transport->SendApp(9, "hello");

  tcp::socket socket(io);
  bool accepted = false;
  acceptor.async_accept(socket, [&](const boost::system::error_code& ec) { accepted = !ec; });
  io.run_for(kWait);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(socket.remote_endpoint().address().to_string(), "127.0.0.2");

  std::array<uint8_t, 4> header;
  asio::read(socket, asio::buffer(header));
  const uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                          (uint32_t{header[2]} << 8) | header[3];
  ASSERT_GT(length, 0u);
  ASSERT_LT(length, 100u);
  std::string body(length, '\0');
  asio::read(socket, asio::buffer(body));
  pb::PeerFrame frame;
  ASSERT_TRUE(frame.ParseFromString(body));
  EXPECT_EQ(frame.from(), 1u);
  EXPECT_EQ(frame.cluster_id(), kCluster);
  EXPECT_EQ(frame.app(), "hello");
}

// A listener whose accept queue is full drops new SYNs, so a connect would hang
// for the kernel's SYN retry period (minutes); connect_timeout must cut it short.
TEST(TcpTransportWireTest, ConnectTimesOut) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  acceptor.open(tcp::v4());
  acceptor.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.listen(0);  // never accepted: one queued connection fills it
  const uint16_t port = acceptor.local_endpoint().port();
  RawClient filler("127.0.0.1", port);
  ASSERT_TRUE(filler.ok());

  TcpTransportOptions options = Options(1);
  options.connect_timeout = std::chrono::milliseconds(100);
  auto a = StartNode(options);
  a->transport->AddPeer(2, "127.0.0.1:" + std::to_string(port));
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->inbox.WaitUnreachable(2));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  EXPECT_EQ(a->transport->stats().connects, 0u);
}

// Member 2 (checking cluster id kCluster) receives bad input from a raw client;
// member 1 is a well-behaved peer whose traffic must keep flowing.
class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TcpTransportOptions a_options = Options(1);
    a_options.cluster_id = kCluster;
    TcpTransportOptions b_options = Options(2);
    b_options.cluster_id = kCluster;
    b_options.max_frame_bytes = 1 << 20;
    a_ = StartNode(a_options);
    b_ = StartNode(b_options);
    a_->transport->AddPeer(2, b_->address());
    a_->transport->Send(MakeMessage(1, 2, 1));
    ASSERT_TRUE(b_->inbox.WaitMessages(1));
  }

  // Sends `bytes` on a fresh raw connection and expects the member to close it,
  // count one decode error and keep serving member 1.
  void ExpectRefused(const std::string& bytes) {
    const uint64_t errors = b_->transport->stats().decode_errors;
    RawClient client("127.0.0.1", b_->transport->port());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.Write(bytes));
    EXPECT_TRUE(client.WaitClosed()) << "connection left open";
    EXPECT_EQ(b_->transport->stats().decode_errors, errors + 1);

    const size_t before = b_->inbox.messages().size();
    a_->transport->Send(MakeMessage(1, 2, 1000 + before));
    ASSERT_TRUE(b_->inbox.WaitMessages(before + 1));
    EXPECT_EQ(b_->inbox.messages().back().index(), 1000 + before);
    EXPECT_EQ(a_->transport->stats().disconnects, 0u);
  }

  pb::PeerFrame GoodFrame(NodeId from) {
    pb::PeerFrame f;
    f.set_from(from);
    f.set_cluster_id(kCluster);
    *f.mutable_raft() = MakeMessage(from, 2, 5);
    return f;
  }

  std::unique_ptr<Node> a_;
  std::unique_ptr<Node> b_;
};

TEST_F(BadInputTest, GarbageBytes) {
  // "GET " read as a length is about 1.2 GB.
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST_F(BadInputTest, OversizedLengthPrefix) {
  ExpectRefused(RawFrame(std::string()).replace(0, 4, std::string("\x00\x10\x00\x01", 4)));
}

TEST_F(BadInputTest, ZeroLengthFrame) { ExpectRefused(std::string(4, '\0')); }

TEST_F(BadInputTest, UndecodableBody) {
  ExpectRefused(RawFrame(std::string("\x1a\x7f\x01\x02\x03", 5)));
}

TEST_F(BadInputTest, WrongClusterId) {
  pb::PeerFrame f = GoodFrame(3);
  f.set_cluster_id(kCluster + 1);
  ExpectRefused(RawFrame(f));
}

TEST_F(BadInputTest, MessageSenderDiffersFromFrameSender) {
  pb::PeerFrame f = GoodFrame(3);
  f.mutable_raft()->set_from(1);
  ExpectRefused(RawFrame(f));
}

TEST_F(BadInputTest, SenderChangesMidStream) {
  // The first frame is valid and delivered; the second claims another sender.
  ExpectRefused(RawFrame(GoodFrame(3)) + RawFrame(GoodFrame(4)));
  bool from3 = false;
  for (const auto& m : b_->inbox.messages()) from3 = from3 || m.from() == 3;
  EXPECT_TRUE(from3);
}

TEST_F(BadInputTest, ValidRawFrameIsDelivered) {
  RawClient client("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(client.ok());
  pb::PeerFrame f;
  f.set_from(3);
  f.set_cluster_id(kCluster);
  f.set_app("raw");
  ASSERT_TRUE(client.Write(RawFrame(f)));
  ASSERT_TRUE(b_->inbox.WaitApps(1));
  EXPECT_EQ(b_->inbox.apps()[0].from, 3u);
  EXPECT_EQ(b_->inbox.apps()[0].payload, "raw");
  EXPECT_EQ(b_->transport->stats().decode_errors, 0u);
}

}  // namespace
}  // namespace coord::raft::testing
