#include "consensus/transport/transport_test_util.h"

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "transport/peer_auth.h"

namespace coord::raft::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

std::unique_ptr<Node> StartNode(TcpTransportOptions options) {
  auto node = std::make_unique<Node>(std::move(options));
  Status s = node->Start();
  EXPECT_TRUE(s.ok()) << s;
  return node;
}

pb::Message MakeMessage(NodeId from, NodeId to, uint64_t index, pb::MessageType type) {
  pb::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(3);
  m.set_index(index);
  return m;
}

uint16_t UnusedPort(const std::string& host) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address(host), 0));
  return acceptor.local_endpoint().port();
}

RawClient::RawClient(const std::string& host, uint16_t port) : socket_(io_) {
  boost::system::error_code ec;
  socket_.connect(tcp::endpoint(asio::ip::make_address(host), port), ec);
  connected_ = !ec;
}

bool RawClient::Write(const std::string& bytes) {
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes), ec);
  return !ec;
}

std::optional<pb::PeerFrame> RawClient::ReadFrame() {
  std::array<uint8_t, 4> header;
  boost::system::error_code ec;
  asio::read(socket_, asio::buffer(header), ec);
  if (ec) return std::nullopt;
  const uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                     (uint32_t{header[2]} << 8) | header[3];
  if (n > (1u << 20)) return std::nullopt;
  std::string body(n, '\0');
  asio::read(socket_, asio::buffer(body), ec);
  pb::PeerFrame frame;
  if (ec || !frame.ParseFromString(body)) return std::nullopt;
  return frame;
}

bool RawClient::Handshake(NodeId from, NodeId to, uint64_t cluster_id, const std::string& secret) {
  std::optional<pb::PeerFrame> challenge = ReadFrame();
  if (!challenge || !challenge->has_challenge()) return false;
  return Write(RawFrame(HelloFrame(from, to, cluster_id, secret, challenge->challenge().nonce())));
}

pb::PeerFrame HelloFrame(NodeId from, NodeId to, uint64_t cluster_id, const std::string& secret,
                         const std::string& nonce) {
  pb::PeerFrame hello;
  hello.set_from(from);
  hello.set_cluster_id(cluster_id);
  hello.mutable_hello()->set_to(to);
  hello.mutable_hello()->set_proof(
      transport::HelloProof(secret, nonce, from, to, cluster_id));
  return hello;
}

bool RawClient::WaitClosed(std::chrono::milliseconds timeout) {
  // The server never writes to us, so any completion of this read means the
  // connection ended.
  bool closed = false;
  std::array<char, 256> buffer;
  std::function<void(const boost::system::error_code&, size_t)> on_read;
  on_read = [&](const boost::system::error_code& ec, size_t) {
    if (ec) {
      closed = true;
      return;
    }
    socket_.async_read_some(asio::buffer(buffer), on_read);
  };
  socket_.async_read_some(asio::buffer(buffer), on_read);
  io_.restart();
  io_.run_for(timeout);
  const bool result = closed;
  if (!result) {
    // Finish the pending read so it cannot outlive the locals it refers to.
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    io_.run();
  }
  return result;
}

std::string RawFrame(const std::string& body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out;
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  return out + body;
}

std::string RawFrame(const pb::PeerFrame& frame) { return RawFrame(frame.SerializeAsString()); }

}  // namespace coord::raft::testing
