// The peer port under attack, on ensembles of their own (the probe of the
// server issue): forged Raft frames, an absurd term, and connections that
// announce huge frames. Each test asserts the ensemble keeps its leader, its
// data and its ability to restart.
#include <signal.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "coord/consensus/types.h"
#include "coord/server/server.h"
#include "peer.pb.h"
#include "raw_peer.h"
#include "test_util.h"

namespace coord::test {
namespace {

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
