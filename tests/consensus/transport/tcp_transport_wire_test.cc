// TcpTransport against hand-driven sockets: the wire format, the source address
// of outgoing connections, and refusal of bad input.
#include "coord/consensus/tcp_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <unistd.h>

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
  b->transport->AddPeer(1, a->address());
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  std::vector<std::string> inbound = b->transport->InboundConnections();
  ASSERT_EQ(inbound.size(), 1u);
  EXPECT_EQ(inbound[0].rfind("127.0.0.2:", 0), 0u) << inbound[0];
}

// A raw listener on 127.0.0.3 sees a connection from 127.0.0.2 that answers its
// challenge with a hello carrying the right proof, then exactly a 4-byte
// big-endian length and a PeerFrame.
TEST(TcpTransportWireTest, WireFormatAndSourceAddressSeenByRawListener) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.3"), 0));
  TcpTransportOptions options = Options(1, "127.0.0.2");
  options.cluster_id = kCluster;
  options.secret = "s3cret";
  auto a = StartNode(options);
  a->transport->AddPeer(9, "127.0.0.3:" + std::to_string(acceptor.local_endpoint().port()));
  a->transport->SendApp(9, "hello");

  tcp::socket socket(io);
  bool accepted = false;
  acceptor.async_accept(socket, [&](const boost::system::error_code& ec) { accepted = !ec; });
  io.run_for(kWait);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(socket.remote_endpoint().address().to_string(), "127.0.0.2");

  pb::PeerFrame challenge;
  challenge.set_from(9);
  challenge.set_cluster_id(kCluster);
  challenge.mutable_challenge()->set_nonce(std::string(16, 'n'));
  asio::write(socket, asio::buffer(RawFrame(challenge)));

  auto read_frame = [&] {
    std::array<uint8_t, 4> header;
    asio::read(socket, asio::buffer(header));
    const uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                            (uint32_t{header[2]} << 8) | header[3];
    EXPECT_GT(length, 0u);
    EXPECT_LT(length, 200u);
    std::string body(length, '\0');
    asio::read(socket, asio::buffer(body));
    pb::PeerFrame frame;
    EXPECT_TRUE(frame.ParseFromString(body));
    return frame;
  };
  pb::PeerFrame hello = read_frame();
  ASSERT_TRUE(hello.has_hello());
  EXPECT_EQ(hello.from(), 1u);
  EXPECT_EQ(hello.hello().to(), 9u);
  EXPECT_EQ(hello.SerializeAsString(),
            HelloFrame(1, 9, kCluster, "s3cret", std::string(16, 'n')).SerializeAsString());
  pb::PeerFrame frame = read_frame();
  EXPECT_EQ(frame.from(), 1u);
  EXPECT_EQ(frame.cluster_id(), kCluster);
  EXPECT_EQ(frame.app(), "hello");
}

// A listener that accepts but never challenges (not a Coord member) is given up
// on after connect_timeout and retried, like a failed connect.
TEST(TcpTransportWireTest, AListenerThatNeverChallengesIsUnreachable) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  TcpTransportOptions options = Options(1);
  options.connect_timeout = std::chrono::milliseconds(200);
  auto a = StartNode(options);
  a->transport->AddPeer(2, "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  tcp::socket socket(io);
  acceptor.accept(socket);
  ASSERT_TRUE(a->inbox.WaitUnreachable(2));
  EXPECT_EQ(a->transport->stats().connects, 0u);
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

constexpr char kSecret[] = "s3cret";

// Member 2 (cluster id kCluster, secret kSecret, peers 1 and 3) receives bad
// input from raw clients; member 1 is a well-behaved peer whose traffic must
// keep flowing. Member 3 is configured but absent: raw clients speak as it.
class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TcpTransportOptions a_options = Options(1);
    a_options.cluster_id = kCluster;
    a_options.secret = kSecret;
    TcpTransportOptions b_options = Options(2);
    b_options.cluster_id = kCluster;
    b_options.secret = kSecret;
    b_options.max_frame_bytes = 1 << 20;
    a_ = StartNode(a_options);
    b_ = StartNode(b_options);
    a_->transport->AddPeer(2, b_->address());
    b_->transport->AddPeer(1, a_->address());
    b_->transport->AddPeer(3, "127.0.0.1:" + std::to_string(UnusedPort()));
    a_->transport->Send(MakeMessage(1, 2, 1));
    ASSERT_TRUE(b_->inbox.WaitMessages(1));
  }

  enum class Counter { kDecodeErrors, kRefused, kFramesRefused };
  static uint64_t Read(const TcpTransport::Stats& s, Counter c) {
    switch (c) {
      case Counter::kDecodeErrors: return s.decode_errors;
      case Counter::kRefused: return s.refused;
      case Counter::kFramesRefused: return s.frames_refused;
    }
    return 0;
  }

  // Sends `bytes` on a fresh raw connection (after a valid handshake as member 3
  // if `handshake`) and expects the member to close it, count it once in
  // `counter`, and keep serving member 1.
  void ExpectRefused(const std::string& bytes, Counter counter, bool handshake = false) {
    const uint64_t before_count = Read(b_->transport->stats(), counter);
    RawClient client("127.0.0.1", b_->transport->port());
    ASSERT_TRUE(client.ok());
    if (handshake) {
      ASSERT_TRUE(client.Handshake(3, 2, kCluster, kSecret));
    }
    ASSERT_TRUE(client.Write(bytes));
    EXPECT_TRUE(client.WaitClosed()) << "connection left open";
    EXPECT_TRUE(PollUntil(
        [&] { return Read(b_->transport->stats(), counter) == before_count + 1; }));
    ExpectMember1StillServed();
  }

  void ExpectMember1StillServed() {
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

  std::string Hello(NodeId from, NodeId to, const std::string& secret) {
    // The proof is over a nonce the raw client has not seen: ExpectRefused's
    // handshake=false path sends it blind, which must fail whatever it holds.
    return RawFrame(HelloFrame(from, to, kCluster, secret, std::string(16, 'x')));
  }

  std::unique_ptr<Node> a_;
  std::unique_ptr<Node> b_;
};

TEST_F(BadInputTest, GarbageBytes) {
  // "GET " read as a length is about 1.2 GB.
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Counter::kDecodeErrors);
}

TEST_F(BadInputTest, OversizedLengthPrefix) {
  ExpectRefused(RawFrame(std::string()).replace(0, 4, std::string("\x00\x10\x00\x01", 4)),
                Counter::kDecodeErrors, /*handshake=*/true);
}

TEST_F(BadInputTest, BeforeTheHandshakeAFrameMayHoldOnly4KiB) {
  ExpectRefused(RawFrame(std::string()).replace(0, 4, std::string("\x00\x00\x10\x01", 4)),
                Counter::kDecodeErrors);
}

TEST_F(BadInputTest, ZeroLengthFrame) { ExpectRefused(std::string(4, '\0'), Counter::kDecodeErrors); }

TEST_F(BadInputTest, UndecodableBody) {
  ExpectRefused(RawFrame(std::string("\x1a\x7f\x01\x02\x03", 5)), Counter::kDecodeErrors);
}

TEST_F(BadInputTest, WrongClusterId) {
  pb::PeerFrame f = GoodFrame(3);
  f.set_cluster_id(kCluster + 1);
  ExpectRefused(RawFrame(f), Counter::kDecodeErrors, /*handshake=*/true);
}

TEST_F(BadInputTest, MessageSenderDiffersFromFrameSender) {
  pb::PeerFrame f = GoodFrame(3);
  f.mutable_raft()->set_from(1);
  ExpectRefused(RawFrame(f), Counter::kDecodeErrors, /*handshake=*/true);
}

// What the probe did: speak Raft at once, claiming to be a member.
TEST_F(BadInputTest, ARaftFrameWithoutAHandshakeIsRefused) {
  ExpectRefused(RawFrame(GoodFrame(1)), Counter::kRefused);
  for (const auto& m : b_->inbox.messages()) EXPECT_NE(m.index(), 5u) << "forged frame delivered";
}

TEST_F(BadInputTest, AHelloWithTheWrongSecretIsRefused) {
  RawClient client("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(client.ok());
  const uint64_t refused = b_->transport->stats().refused;
  ASSERT_TRUE(client.Handshake(3, 2, kCluster, "guessed"));
  ASSERT_TRUE(client.Write(RawFrame(GoodFrame(3))));
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(b_->transport->stats().refused, refused + 1);
  for (const auto& m : b_->inbox.messages()) EXPECT_NE(m.from(), 3u) << "forged frame delivered";
  ExpectMember1StillServed();
}

TEST_F(BadInputTest, AReplayedHelloIsRefused) {
  // A hello that was valid for some other connection's nonce.
  ExpectRefused(Hello(3, 2, kSecret), Counter::kRefused);
}

TEST_F(BadInputTest, AMemberNotInTheConfigurationIsRefused) {
  RawClient client("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(client.ok());
  const uint64_t refused = b_->transport->stats().refused;
  ASSERT_TRUE(client.Handshake(5, 2, kCluster, kSecret));  // right secret, unknown id
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(b_->transport->stats().refused, refused + 1);
}

TEST_F(BadInputTest, AHelloForAnotherMemberOrFromItselfIsRefused) {
  for (auto [from, to] : {std::pair<NodeId, NodeId>{3, 7}, {2, 2}}) {
    RawClient client("127.0.0.1", b_->transport->port());
    ASSERT_TRUE(client.ok());
    const uint64_t refused = b_->transport->stats().refused;
    ASSERT_TRUE(client.Handshake(from, to, kCluster, kSecret));
    EXPECT_TRUE(client.WaitClosed()) << from << "->" << to;
    EXPECT_EQ(b_->transport->stats().refused, refused + 1);
  }
}

TEST_F(BadInputTest, SenderChangesMidStream) {
  // The first frame is valid and delivered; the second claims another sender.
  ExpectRefused(RawFrame(GoodFrame(3)) + RawFrame(GoodFrame(4)), Counter::kFramesRefused,
                /*handshake=*/true);
  bool from3 = false, from4 = false;
  for (const auto& m : b_->inbox.messages()) {
    from3 = from3 || m.from() == 3;
    from4 = from4 || m.from() == 4;
  }
  EXPECT_TRUE(from3);
  EXPECT_FALSE(from4);
}

TEST_F(BadInputTest, ASecondHandshakeOnABoundConnectionIsRefused) {
  ExpectRefused(Hello(3, 2, kSecret), Counter::kFramesRefused, /*handshake=*/true);
}

TEST_F(BadInputTest, ValidRawFrameIsDelivered) {
  RawClient client("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.Handshake(3, 2, kCluster, kSecret));
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

TEST_F(BadInputTest, ANewerConnectionOfAMemberReplacesTheOlderOne) {
  RawClient first("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(first.Handshake(3, 2, kCluster, kSecret));
  ASSERT_TRUE(first.Write(RawFrame(GoodFrame(3))));
  ASSERT_TRUE(b_->inbox.WaitMessages(2));
  RawClient second("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(second.Handshake(3, 2, kCluster, kSecret));
  EXPECT_TRUE(first.WaitClosed());
  EXPECT_FALSE(second.WaitClosed(200ms));
}

TEST_F(BadInputTest, RemovingAMemberClosesItsConnection) {
  RawClient client("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(client.Handshake(3, 2, kCluster, kSecret));
  ASSERT_TRUE(client.Write(RawFrame(GoodFrame(3))));
  ASSERT_TRUE(b_->inbox.WaitMessages(2));
  b_->transport->RemovePeer(3);
  EXPECT_TRUE(client.WaitClosed());
  // And it cannot come back.
  RawClient again("127.0.0.1", b_->transport->port());
  ASSERT_TRUE(again.Handshake(3, 2, kCluster, kSecret));
  EXPECT_TRUE(again.WaitClosed());
}

// Timeouts and caps, on a member with short ones.
TEST(PeerPortLimitsTest, SilentAndIdleConnectionsAreClosed) {
  TcpTransportOptions options = Options(2);
  options.handshake_timeout = 200ms;
  options.idle_timeout = 300ms;
  auto b = StartNode(options);
  b->transport->AddPeer(3, "127.0.0.1:" + std::to_string(UnusedPort()));

  RawClient silent("127.0.0.1", b->transport->port());
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.WaitClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  EXPECT_TRUE(PollUntil([&] { return b->transport->stats().refused == 1; }));

  RawClient idle("127.0.0.1", b->transport->port());
  ASSERT_TRUE(idle.Handshake(3, 2, 0, ""));
  EXPECT_TRUE(idle.WaitClosed());
  EXPECT_EQ(b->transport->stats().refused, 1u);  // bound, then idle: not a refusal
}

TEST(PeerPortLimitsTest, TheOldestPendingHandshakeMakesRoomForANewConnection) {
  TcpTransportOptions options = Options(2);
  options.max_pending_handshakes = 2;
  auto b = StartNode(options);
  auto a = StartNode(Options(1));
  std::vector<std::unique_ptr<RawClient>> junk;
  for (int i = 1; i <= 2; ++i) {
    junk.push_back(std::make_unique<RawClient>("127.0.0.1", b->transport->port()));
    ASSERT_TRUE(PollUntil([&] { return b->transport->stats().accepted == static_cast<uint64_t>(i); }));
  }
  b->transport->AddPeer(1, a->address());
  a->transport->AddPeer(2, b->address());
  // A real member still gets in; the oldest junk connection made room.
  a->transport->Send(MakeMessage(1, 2, 42));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  EXPECT_TRUE(junk[0]->WaitClosed());
  EXPECT_GE(b->transport->stats().refused, 1u);
}

uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// The probe: connections announcing a huge frame and sending a few bytes of it.
// Memory follows the bytes received, not the lengths announced.
TEST(PeerPortLimitsTest, AnAnnouncedLengthCostsOnlyTheBytesThatArrive) {
  auto b = StartNode(Options(2));
  constexpr int kConnections = 20;
  for (NodeId id = 10; id < 10 + kConnections; ++id) {
    b->transport->AddPeer(id, "127.0.0.1:" + std::to_string(UnusedPort()));
  }
  const uint64_t before = ResidentBytes();
  std::vector<std::unique_ptr<RawClient>> clients;
  for (NodeId id = 10; id < 10 + kConnections; ++id) {
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", b->transport->port()));
    ASSERT_TRUE(clients.back()->Handshake(id, 2, 0, ""));
    // 60 MiB announced, 1 KiB sent.
    ASSERT_TRUE(clients.back()->Write(std::string("\x03\xc0\x00\x00", 4) + std::string(1024, 'z')));
  }
  ASSERT_TRUE(PollUntil([&] {
    return b->transport->stats().bytes_received == 0 &&
           b->transport->InboundConnections().size() == kConnections;
  }));
  const uint64_t grown = ResidentBytes() > before ? ResidentBytes() - before : 0;
  EXPECT_LT(grown, uint64_t{64} << 20) << "resident memory grew by " << grown << " bytes";
  for (auto& c : clients) EXPECT_FALSE(c->WaitClosed(10ms));
}

}  // namespace
}  // namespace coord::raft::testing
