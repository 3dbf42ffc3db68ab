// The peer port under attack, on ensembles of their own (the probe of the
// server issue): forged Raft frames, an absurd term, and connections that
// announce huge frames. Each test asserts the ensemble keeps its leader, its
// data and its ability to restart.
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <limits>
#include <sstream>

#include "coord/server/server.h"
#include "raft.pb.h"
#include "test_util.h"
#include "peer.pb.h"
#include "transport/peer_auth.h"

namespace coord::test {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A hand-driven peer connection to a member's peer port.
class RawPeer {
 public:
  explicit RawPeer(const std::string& address) : socket_(io_) {
    const size_t colon = address.rfind(':');
    boost::system::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address(address.substr(0, colon)),
                                  static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))),
                    ec);
    ok_ = !ec;
  }
  bool ok() const { return ok_; }

  bool Write(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    return !ec;
  }
  bool WriteFrame(const raft::pb::PeerFrame& frame) {
    const std::string body = frame.SerializeAsString();
    const uint32_t n = static_cast<uint32_t>(body.size());
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
    return Write(out + body);
  }
  // Reads the member's challenge and answers as `from` with `secret`.
  bool Handshake(uint64_t from, uint64_t to, uint64_t cluster_id, const std::string& secret) {
    std::array<uint8_t, 4> header;
    boost::system::error_code ec;
    asio::read(socket_, asio::buffer(header), ec);
    if (ec) return false;
    const uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                       (uint32_t{header[2]} << 8) | header[3];
    if (n > 4096) return false;
    std::string body(n, '\0');
    asio::read(socket_, asio::buffer(body), ec);
    raft::pb::PeerFrame challenge;
    if (ec || !challenge.ParseFromString(body) || !challenge.has_challenge()) return false;
    raft::pb::PeerFrame hello;
    hello.set_from(from);
    hello.set_cluster_id(cluster_id);
    hello.mutable_hello()->set_to(to);
    hello.mutable_hello()->set_proof(raft::transport::HelloProof(
        secret, challenge.challenge().nonce(), from, to, cluster_id));
    return WriteFrame(hello);
  }
  // True when the member closes the connection within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    bool closed = false;
    std::array<char, 256> buffer;
    std::function<void(const boost::system::error_code&, size_t)> on_read =
        [&](const boost::system::error_code& ec, size_t) {
          if (ec) {
            closed = true;
            return;
          }
          socket_.async_read_some(asio::buffer(buffer), on_read);
        };
    socket_.async_read_some(asio::buffer(buffer), on_read);
    io_.restart();
    io_.run_for(timeout);
    if (!closed) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      io_.restart();
      io_.run();
    }
    return closed;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  bool ok_ = false;
};

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

// Defect 10: one heartbeat at term 2^64-1 used to spread, wrap the term to 0 and
// leave data directories no member could start from. Here the attacker even
// knows the (default) token, so it passes the handshake as a member.
TEST(PeerPort, AnAbsurdTermIsRefusedAndEveryMemberStillRestarts) {
  Ensemble e(3, 30);
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int victim = (*leader + 1) % 3;
  const uint64_t cluster = server::ClusterIdFromToken("coord");
  const uint64_t term = TermOf(e, victim);
  ASSERT_GT(term, 0u);

  RawPeer peer(e.member(victim).peer_address);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(peer.Handshake(IdOf(e, *leader), IdOf(e, victim), cluster, "coord"));
  ASSERT_TRUE(peer.WriteFrame(Heartbeat(IdOf(e, *leader), IdOf(e, victim), cluster,
                                        std::numeric_limits<uint64_t>::max())));
  ASSERT_TRUE(peer.WriteFrame(Heartbeat(IdOf(e, *leader), IdOf(e, victim), cluster,
                                        raft::kMaxTerm + 1)));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Metric(e, victim, "coord_peer_messages_refused_total") < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // poll interval
  }
  EXPECT_GE(Metric(e, victim, "coord_peer_messages_refused_total"), 2);
  EXPECT_LT(TermOf(e, victim), raft::kMaxTerm);
  ExpectWritable(e, victim, "/peer/after-absurd-term");

  // Every member's data directory must start again.
  for (int i = 0; i < 3; ++i) e.Kill(i);
  ASSERT_TRUE(e.StartAll().ok());
  ASSERT_TRUE(e.WaitStableLeader(20s).ok());
  for (int i = 0; i < 3; ++i) EXPECT_LT(TermOf(e, i), 1000u) << e.member(i).name;
  ExpectWritable(e, victim, "/peer/after-restart");
}

// Defect 11: a process that does not know the cluster token cannot speak Raft
// to a member: a forged append one term higher, claiming to be the leader, is
// refused at the handshake and the ensemble's term and leader stay.
TEST(PeerPort, WithoutTheTokenForgedFramesAreRefusedAndCounted) {
  Ensemble e(3, 30);
  e.set_extra_args({"--cluster-token", "peer-port-test-secret"});
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int victim = (*leader + 1) % 3;
  const uint64_t term = TermOf(e, victim);
  // The attacker can compute the cluster id of a guessed token, not the secret.
  const uint64_t cluster = server::ClusterIdFromToken("peer-port-test-secret");

  {
    // Straight to Raft, no handshake.
    RawPeer peer(e.member(victim).peer_address);
    ASSERT_TRUE(peer.ok());
    raft::pb::PeerFrame append = Heartbeat(IdOf(e, *leader), IdOf(e, victim), cluster, term + 1);
    append.mutable_raft()->set_type(raft::pb::MSG_APPEND);
    ASSERT_TRUE(peer.WriteFrame(append));
    EXPECT_TRUE(peer.WaitClosed(10s));
  }
  {
    // A handshake with the default token.
    RawPeer peer(e.member(victim).peer_address);
    ASSERT_TRUE(peer.ok());
    ASSERT_TRUE(peer.Handshake(IdOf(e, *leader), IdOf(e, victim), cluster, "coord"));
    ASSERT_TRUE(peer.WriteFrame(Heartbeat(IdOf(e, *leader), IdOf(e, victim), cluster, term + 1)));
    EXPECT_TRUE(peer.WaitClosed(10s));
  }
  {
    // The right token, but an id that is not a member.
    RawPeer peer(e.member(victim).peer_address);
    ASSERT_TRUE(peer.ok());
    ASSERT_TRUE(peer.Handshake(server::MemberIdFromName("intruder"), IdOf(e, victim), cluster,
                               "peer-port-test-secret"));
    EXPECT_TRUE(peer.WaitClosed(10s));
  }
  EXPECT_GE(Metric(e, victim, "coord_peer_connections_refused_total"), 3);
  EXPECT_EQ(TermOf(e, victim), term);
  auto still = e.WaitStableLeader(5s);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, *leader);
  ExpectWritable(e, victim, "/peer/after-forgery");
}

// Defect 12: 20 connections that sent only a 4-byte length of 64 MiB took a
// member to 1.3 GB. Before the handshake such a length is refused at once;
// after it, memory follows the bytes that arrive.
TEST(PeerPort, AnnouncedFrameLengthsCostNoMemory) {
  Ensemble e(3, 30);
  ASSERT_TRUE(e.StartAll().ok());
  ASSERT_TRUE(e.WaitStableLeader(20s).ok());
  const int victim = 0;
  const uint64_t cluster = server::ClusterIdFromToken("coord");
  const uint64_t before = ResidentBytes(e.member(victim).pid);
  std::vector<std::unique_ptr<RawPeer>> unauthenticated, bound;
  for (int k = 0; k < 20; ++k) {
    unauthenticated.push_back(std::make_unique<RawPeer>(e.member(victim).peer_address));
    ASSERT_TRUE(unauthenticated.back()->Write(std::string("\x04\x00\x00\x00", 4)));
  }
  for (auto& p : unauthenticated) EXPECT_TRUE(p->WaitClosed(10s));
  // Authenticated as a real member (the default token is known): 20 connections
  // in turn, each announcing 60 MiB and sending 1 KiB.
  for (int k = 0; k < 20; ++k) {
    bound.push_back(std::make_unique<RawPeer>(e.member(victim).peer_address));
    ASSERT_TRUE(bound.back()->Handshake(IdOf(e, 1 + k % 2), IdOf(e, victim), cluster, "coord"));
    ASSERT_TRUE(bound.back()->Write(std::string("\x03\xc0\x00\x00", 4) + std::string(1024, 'z')));
  }
  ExpectWritable(e, victim, "/peer/after-lengths");
  const uint64_t after = ResidentBytes(e.member(victim).pid);
  EXPECT_LT(after, before + (uint64_t{100} << 20))
      << "member grew from " << before << " to " << after << " bytes";
}

// A forward as the follower `from` would send it, stamped `sent` and giving up
// at `expiry` (both on this host's steady clock, which every process shares).
raft::pb::PeerFrame ForwardFrame(uint64_t from, uint64_t cluster_id, uint64_t forward_id,
                                 const std::string& key, std::chrono::steady_clock::time_point sent,
                                 std::chrono::steady_clock::time_point expiry) {
  const auto us = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  };
  server::pb::PeerEnvelope envelope;
  envelope.set_sent_us(us(sent));
  server::pb::ForwardRequest* f = envelope.mutable_forward();
  f->set_forward_id(forward_id);
  f->mutable_request()->mutable_put()->set_key(key);
  f->mutable_request()->mutable_put()->set_value("v");
  f->set_timeout_ms(5000);
  f->set_expiry_us(us(expiry));
  raft::pb::PeerFrame frame;
  frame.set_from(from);
  frame.set_cluster_id(cluster_id);
  frame.set_app(envelope.SerializeAsString());
  return frame;
}

// Defect 4: a forward held up in the network used to be proposed with a fresh
// deadline when it finally arrived, long after its client was told it failed.
// Here a follower's forward arrives a second after its origin gave up: the leader
// drops it (counted) and never applies it, while a timely one is applied.
TEST(PeerPort, AForwardThatArrivesAfterItsDeadlineIsNeverApplied) {
  Ensemble e(3, 30);
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int follower = (*leader + 1) % 3;
  const uint64_t cluster = server::ClusterIdFromToken("coord");
  ExpectWritable(e, follower, "/fwd/warmup");  // the leader has sampled the follower's clock

  RawPeer peer(e.member(*leader).peer_address);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(peer.Handshake(IdOf(e, follower), IdOf(e, *leader), cluster, "coord"));
  const auto now = std::chrono::steady_clock::now();
  ASSERT_TRUE(peer.WriteFrame(
      ForwardFrame(IdOf(e, follower), cluster, 9'000'001, "/fwd/late", now - 2s, now - 1s)));
  ASSERT_TRUE(peer.WriteFrame(
      ForwardFrame(IdOf(e, follower), cluster, 9'000'002, "/fwd/timely", now, now + 5s)));

  auto c = WsClient::Connect(e.member(*leader).client_address);
  ASSERT_TRUE(c.ok()) << c.status();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Get(**c, "/fwd/timely").range().kvs_size() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // poll interval
  }
  EXPECT_EQ(Get(**c, "/fwd/timely").range().kvs_size(), 1) << "the timely forward was applied";
  EXPECT_EQ(Get(**c, "/fwd/late").range().kvs_size(), 0) << "the late forward must never apply";
  EXPECT_GE(Metric(e, *leader, "coord_forwards_expired_total"), 1);
}

}  // namespace
}  // namespace coord::test
