#include "raw_peer.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <functional>

#include "coord/server/server.h"
#include "test_util.h"
#include "transport/peer_auth.h"

namespace coord::test {

namespace asio = boost::asio;
using asio::ip::tcp;

RawPeer::RawPeer(const std::string& address) : socket_(io_) { ok_ = Connect(address); }

RawPeer::RawPeer(const std::string& address, const std::string& cert, const std::string& key,
                 const std::string& ca)
    : socket_(io_), context_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls)) {
  boost::system::error_code ec;
  context_->use_certificate_chain_file(cert, ec);
  if (!ec) context_->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (!ec) context_->load_verify_file(ca, ec);
  if (ec || !Connect(address)) return;
  // The member's certificate is not checked: the tests are about what it accepts.
  context_->set_verify_mode(asio::ssl::verify_none);
  tls_.emplace(std::move(socket_), *context_);
  tls_->handshake(asio::ssl::stream_base::client, ec);
  ok_ = !ec;
}

bool RawPeer::Connect(const std::string& address) {
  const size_t colon = address.rfind(':');
  boost::system::error_code ec;
  socket_.connect(tcp::endpoint(asio::ip::make_address(address.substr(0, colon)),
                                static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))),
                  ec);
  return !ec;
}

bool RawPeer::Write(const std::string& bytes) {
  boost::system::error_code ec;
  WithStream([&](auto& s) { asio::write(s, asio::buffer(bytes), ec); });
  return !ec;
}

bool RawPeer::WriteFrame(const raft::pb::PeerFrame& frame) {
  const std::string body = frame.SerializeAsString();
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                  static_cast<char>(n >> 8), static_cast<char>(n)};
  return Write(out + body);
}

bool RawPeer::Handshake(uint64_t from, uint64_t to, uint64_t cluster_id,
                        const std::string& secret) {
  std::array<uint8_t, 4> header;
  boost::system::error_code ec;
  WithStream([&](auto& s) { asio::read(s, asio::buffer(header), ec); });
  if (ec) return false;
  const uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                     (uint32_t{header[2]} << 8) | header[3];
  if (n > 4096) return false;
  std::string body(n, '\0');
  WithStream([&](auto& s) { asio::read(s, asio::buffer(body), ec); });
  raft::pb::PeerFrame challenge;
  if (ec || !challenge.ParseFromString(body) || !challenge.has_challenge()) return false;
  raft::pb::PeerFrame hello;
  hello.set_from(from);
  hello.set_cluster_id(cluster_id);
  hello.mutable_hello()->set_to(to);
  hello.mutable_hello()->set_proof(
      raft::transport::HelloProof(secret, challenge.challenge().nonce(), from, to, cluster_id));
  return WriteFrame(hello);
}

bool RawPeer::WaitClosed(std::chrono::milliseconds timeout) {
  bool closed = false;
  std::array<char, 256> buffer;
  std::function<void(const boost::system::error_code&, size_t)> on_read =
      [&](const boost::system::error_code& ec, size_t) {
        if (ec) {
          closed = true;
          return;
        }
        WithStream([&](auto& s) { s.async_read_some(asio::buffer(buffer), on_read); });
      };
  WithStream([&](auto& s) { s.async_read_some(asio::buffer(buffer), on_read); });
  io_.restart();
  io_.run_for(timeout);
  if (!closed) {
    boost::system::error_code ignored;
    (tls_ ? tls_->next_layer() : socket_).cancel(ignored);
    io_.restart();
    io_.run();
  }
  return closed;
}

raft::pb::PeerFrame Heartbeat(uint64_t from, uint64_t to, uint64_t cluster_id, uint64_t term) {
  raft::pb::PeerFrame f;
  f.set_from(from);
  f.set_cluster_id(cluster_id);
  raft::pb::Message* m = f.mutable_raft();
  m->set_type(raft::pb::MSG_HEARTBEAT);
  m->set_from(from);
  m->set_to(to);
  m->set_term(term);
  return f;
}

uint64_t IdOf(const Ensemble& e, int i) { return server::MemberIdFromName(e.member(i).name); }

uint64_t TermOf(const Ensemble& e, int i) {
  auto c = WsClient::Connect(e.member(i).client_address);
  if (!c.ok()) return 0;
  Request r;
  r.mutable_status();
  auto resp = (*c)->Call(r);
  if (!resp.ok()) return 0;
  return resp->header().raft_term();
}

void ExpectWritable(const Ensemble& e, int member, const std::string& key) {
  auto c = WsClient::Connect(e.member(member).client_address);
  ASSERT_TRUE(c.ok()) << c.status();
  Request r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value("v");
  auto resp = (*c)->Call(r);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_TRUE(Ok(*resp)) << resp->DebugString();
}

}  // namespace coord::test
