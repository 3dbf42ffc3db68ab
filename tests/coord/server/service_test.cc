// The request path of Service against a FakeRaftHost: what a client is told when
// the leader applies its write, when a follower forwards it, when there is no
// leader, when a forward's reply is lost or its leader changes, when a proposal
// is never appended or may have been; the order of a queued acquire's reply and
// its grant; and the pushes re-derived after a snapshot restore.
#include "server/service.h"

#include <gtest/gtest.h>

#include <thread>

#include "coord/server/server.h"
#include "fake_raft_host.h"
#include "wait_for.h"
#include "fake_sink.h"

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using coord::v1::Request;
using coord::v1::Response;
using coord::v1::ServerMessage;
using Clock = std::chrono::steady_clock;

constexpr raft::NodeId kSelf = 1;
constexpr raft::NodeId kOther = 2;

// One member's server parts around a fake host, with two I/O threads.
class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest()
      : hub_(WatchHubOptions{}),
        adapter_(StateMachineOptions{}, &hub_, &tracker_),
        host_(kSelf),
        service_(Options(), io_, &adapter_, &hub_, &tracker_, &metrics_) {
    service_.set_raft_host(&host_);
    service_.ListenToAdapter();
    host_.ApplyTo(&adapter_);
    service_.AddMember(kOther, MemberInfo{"m2", "127.0.0.2:1", "127.0.0.2:2"});
    service_.Start();
    work_.emplace(io_.get_executor());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~ServiceTest() override {
    service_.Stop();
    work_.reset();
    io_.stop();
    for (std::thread& t : threads_) t.join();
  }

  static ServiceOptions Options() {
    ServiceOptions o;
    o.name = "m1";
    o.member_id = kSelf;
    o.tick = 10ms;
    o.election_timeout = 100ms;
    o.default_timeout = 2s;
    return o;
  }

  // Every message the sink has received so far, in order, once there are `n`.
  std::vector<ServerMessage> WaitMessages(size_t n) {
    WaitFor([&] {
      for (ServerMessage& m : sink_->Drain()) received_.push_back(std::move(m));
      return received_.size() >= n;
    });
    return received_;
  }
  Response WaitReply() {
    auto all = WaitMessages(received_.size() + 1);
    EXPECT_FALSE(all.empty());
    return all.empty() ? Response() : all.back().response();
  }
  void Send(Request r) { service_.Handle(sink_, std::move(r), false); }

  static Request PutRequest(uint64_t id, const std::string& key, uint32_t timeout_ms = 0) {
    Request r;
    r.set_id(id);
    r.set_timeout_ms(timeout_ms);
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value("v");
    return r;
  }
  int64_t CreateSession() {
    Request r;
    r.set_id(900);
    r.mutable_session_create()->set_ttl_ms(10'000);
    Send(r);
    return WaitReply().session_create().session_id();
  }
  static Request Acquire(uint64_t id, int64_t session, bool wait) {
    Request r;
    r.set_id(id);
    r.mutable_lock_acquire()->set_name("L");
    r.mutable_lock_acquire()->set_session(session);
    r.mutable_lock_acquire()->set_wait(wait);
    return r;
  }
  static Request Release(uint64_t id, int64_t session) {
    Request r;
    r.set_id(id);
    r.mutable_lock_release()->set_name("L");
    r.mutable_lock_release()->set_session(session);
    return r;
  }
  // The proposals the host holds, once there are some.
  std::vector<FakeRaftHost::Proposal> WaitHeld() {
    std::vector<FakeRaftHost::Proposal> held;
    WaitFor([&] { return !(held = host_.TakeProposals()).empty(); });
    return held;
  }
  // The forwards this member sent to `to`.
  std::vector<pb::ForwardRequest> ForwardsSentTo(raft::NodeId to) {
    std::vector<pb::ForwardRequest> out;
    for (auto& [dest, payload] : host_.TakeSent()) {
      pb::PeerEnvelope e;
      if (dest == to && e.ParseFromString(payload) && e.has_forward()) out.push_back(e.forward());
    }
    return out;
  }

  boost::asio::io_context io_;
  WatchHub hub_;
  SessionTracker tracker_;
  StateAdapter adapter_;
  Metrics metrics_;
  FakeRaftHost host_;
  Service service_;
  std::shared_ptr<FakeSink> sink_ = std::make_shared<FakeSink>(7);
  std::vector<ServerMessage> received_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

TEST_F(ServiceTest, TheLeaderAppliesAWriteAndAnswersWithItsIdAndHeader) {
  host_.SetLeader(kSelf);
  Send(PutRequest(41, "/a"));
  const Response r = WaitReply();
  EXPECT_EQ(r.id(), 41u);
  ASSERT_TRUE(r.has_put()) << r.DebugString();
  EXPECT_EQ(r.header().member_id(), kSelf);
  EXPECT_EQ(r.header().revision(), 1);
  EXPECT_EQ(host_.proposals(), 1u);
}

TEST_F(ServiceTest, AFollowerForwardsAWriteWithAnExpiryAndRelaysTheLeadersReply) {
  host_.SetLeader(kOther);
  Send(PutRequest(42, "/f", 1000));
  std::vector<pb::ForwardRequest> sent;
  ASSERT_TRUE(WaitFor([&] {
    for (auto& f : ForwardsSentTo(kOther)) sent.push_back(f);
    return !sent.empty();
  }));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].request().put().key(), "/f");
  EXPECT_GT(sent[0].expiry_us(), 0) << "a forward carries its absolute expiry";
  EXPECT_LE(sent[0].timeout_ms(), 1000u);
  EXPECT_EQ(host_.proposals(), 0u) << "a follower proposes nothing itself";

  pb::PeerEnvelope reply;
  reply.mutable_reply()->set_forward_id(sent[0].forward_id());
  reply.mutable_reply()->mutable_response()->set_id(42);
  reply.mutable_reply()->mutable_response()->mutable_put();
  service_.OnPeerPayload(kOther, reply.SerializeAsString());
  const Response r = WaitReply();
  EXPECT_EQ(r.id(), 42u);
  EXPECT_TRUE(r.has_put()) << r.DebugString();
  // A duplicate reply finds nothing and delivers nothing.
  service_.OnPeerPayload(kOther, reply.SerializeAsString());
  std::this_thread::sleep_for(50ms);  // nothing to wait for: proving an absence
  EXPECT_TRUE(sink_->Drain().empty());
}

TEST_F(ServiceTest, WithoutALeaderAWriteIsUnavailableAtItsDeadlineAndNeverApplied) {
  const auto start = Clock::now();
  Send(PutRequest(43, "/n", 200));
  const Response r = WaitReply();
  EXPECT_GE(Clock::now() - start, 150ms) << "retried until close to the deadline";
  EXPECT_EQ(r.id(), 43u);
  EXPECT_EQ(r.error().code(), coord::v1::UNAVAILABLE) << r.DebugString();
  EXPECT_EQ(adapter_.applied_commands(), 0u);
}

TEST_F(ServiceTest, ALeaderElectedBeforeTheDeadlineStillServesTheWrite) {
  Send(PutRequest(44, "/late", 2000));
  std::this_thread::sleep_for(100ms);  // the request is being retried meanwhile
  host_.SetLeader(kSelf);
  const Response r = WaitReply();
  EXPECT_TRUE(r.has_put()) << r.DebugString();
}

TEST_F(ServiceTest, AForwardWhoseReplyIsLostEndsInTimeoutNotUnavailable) {
  host_.SetLeader(kOther);
  Send(PutRequest(45, "/lost", 200));
  const Response r = WaitReply();
  EXPECT_EQ(r.id(), 45u);
  EXPECT_EQ(r.error().code(), coord::v1::TIMEOUT)
      << "the leader may have applied it: " << r.DebugString();
}

TEST_F(ServiceTest, ALeaderChangeWhileAForwardIsInFlightIsAnUnknownOutcome) {
  host_.SetLeader(kOther);
  Send(PutRequest(46, "/moved", 5000));
  ASSERT_TRUE(WaitFor([&] { return !ForwardsSentTo(kOther).empty(); }));
  const auto changed = Clock::now();
  host_.SetLeader(3);
  const Response r = WaitReply();
  EXPECT_LT(Clock::now() - changed, 2s) << "failed at the change, not at the deadline";
  EXPECT_EQ(r.error().code(), coord::v1::TIMEOUT) << r.DebugString();
  EXPECT_NE(r.error().message().find("leadership changed"), std::string::npos);
}

TEST_F(ServiceTest, AProposalThatWasNeverAppendedIsProposedAgain) {
  host_.SetLeader(kSelf);
  host_.HoldProposals(true);
  Send(PutRequest(47, "/retry", 2000));
  std::vector<FakeRaftHost::Proposal> held = WaitHeld();
  ASSERT_FALSE(held.empty());
  raft::ProposeResult refused;
  refused.status = Status::NotLeader("stepped down before appending");
  held[0].done(refused);
  held = WaitHeld();
  ASSERT_FALSE(held.empty()) << "a never-appended write is retried until its deadline";
  held[0].done(host_.ApplyNow(held[0].data));
  const Response r = WaitReply();
  EXPECT_TRUE(r.has_put()) << r.DebugString();
  EXPECT_EQ(host_.proposals(), 2u);
}

TEST_F(ServiceTest, AnAppendedProposalThatFailsIsReportedAsMaybeAppliedAndNotRetried) {
  host_.SetLeader(kSelf);
  host_.HoldProposals(true);
  Send(PutRequest(48, "/maybe", 2000));
  std::vector<FakeRaftHost::Proposal> held = WaitHeld();
  ASSERT_FALSE(held.empty());
  raft::ProposeResult lost;
  lost.status = Status::NotLeader("lost leadership after appending");
  lost.index = 5;
  lost.indeterminate = true;
  held[0].done(lost);
  const Response r = WaitReply();
  EXPECT_EQ(r.error().code(), coord::v1::TIMEOUT) << r.DebugString();
  EXPECT_EQ(host_.proposals(), 1u) << "an appended write must never be proposed again";
}

TEST_F(ServiceTest, ALeaderDropsAForwardFromAMemberWhoseClockItHasNotSampled) {
  host_.SetLeader(kSelf);
  pb::PeerEnvelope forward;  // no sent_us: the leader cannot bound its expiry
  forward.mutable_forward()->set_forward_id(9);
  forward.mutable_forward()->set_timeout_ms(1000);
  forward.mutable_forward()->set_expiry_us(PeerClock::NowMicros() + 1'000'000);
  *forward.mutable_forward()->mutable_request() = PutRequest(49, "/unsampled");
  service_.OnPeerPayload(kOther, forward.SerializeAsString());
  std::vector<std::pair<raft::NodeId, std::string>> sent;
  ASSERT_TRUE(WaitFor([&] { return !(sent = host_.TakeSent()).empty(); }));
  pb::PeerEnvelope reply;
  ASSERT_TRUE(reply.ParseFromString(sent.back().second));
  ASSERT_TRUE(reply.has_reply());
  EXPECT_EQ(reply.reply().forward_id(), 9u);
  EXPECT_EQ(reply.reply().response().error().code(), coord::v1::UNAVAILABLE);
  EXPECT_EQ(host_.proposals(), 0u) << "never started";
}

// The grant of a queued acquire is applied before the acquire's own completion
// runs (it was applied, then the holder released, all before the proposer's
// callback): the connection still receives the queued reply first, then the grant.
TEST_F(ServiceTest, AQueuedAcquireIsAnsweredBeforeItsGrantEvenWhenTheGrantIsAppliedFirst) {
  host_.SetLeader(kSelf);
  const int64_t holder = CreateSession();
  const int64_t waiter = CreateSession();
  Send(Acquire(50, holder, false));
  ASSERT_TRUE(WaitReply().lock_acquire().granted());

  host_.HoldProposals(true);
  Send(Acquire(51, waiter, true));
  std::vector<FakeRaftHost::Proposal> held = WaitHeld();
  ASSERT_FALSE(held.empty());
  const raft::ProposeResult queued = host_.ApplyNow(held[0].data);
  // The holder's release is applied (granting the waiter) before the queued
  // acquire's completion reaches the service.
  coord::state::Command release;
  *release.mutable_lock_release() = Release(0, holder).lock_release();
  host_.ApplyNow(EncodeCommand(release));
  held[0].done(queued);

  const auto all = WaitMessages(received_.size() + 2);
  ASSERT_GE(all.size(), 2u);
  const ServerMessage& reply = all[all.size() - 2];
  const ServerMessage& event = all.back();
  ASSERT_TRUE(reply.has_response());
  EXPECT_EQ(reply.response().id(), 51u);
  EXPECT_FALSE(reply.response().lock_acquire().granted()) << "queued";
  ASSERT_TRUE(event.has_lock()) << event.DebugString();
  EXPECT_TRUE(event.lock().granted());
  EXPECT_EQ(event.lock().session(), waiter);
  EXPECT_GT(event.lock().token(), 0);
}

// A member that installs a snapshot skips the entries whose pushes it would have
// sent: after the restore, the granted waiter is still told.
TEST_F(ServiceTest, AGrantInsideASnapshotIsPushedAfterTheRestore) {
  host_.SetLeader(kSelf);
  const int64_t holder = CreateSession();
  const int64_t waiter = CreateSession();
  Send(Acquire(52, holder, false));
  ASSERT_TRUE(WaitReply().lock_acquire().granted());
  Send(Acquire(53, waiter, true));
  ASSERT_FALSE(WaitReply().lock_acquire().granted());

  // Another replica of the same log applies the release; this member installs
  // that replica's snapshot instead of applying the release itself.
  StateAdapter other(StateMachineOptions{}, nullptr, nullptr);
  ASSERT_TRUE(other.Restore(adapter_.Snapshot()).ok());
  coord::state::Command release;
  *release.mutable_lock_release() = Release(0, holder).lock_release();
  ASSERT_TRUE(other.Apply(100, EncodeCommand(release)).ok());
  ASSERT_TRUE(adapter_.Restore(other.Snapshot()).ok());

  const auto all = WaitMessages(received_.size() + 1);
  ASSERT_FALSE(all.empty());
  ASSERT_TRUE(all.back().has_lock()) << all.back().DebugString();
  EXPECT_TRUE(all.back().lock().granted());
  EXPECT_EQ(all.back().lock().session(), waiter);
}

Request TransferTo(uint64_t id, const std::string& name, uint32_t timeout_ms) {
  Request r;
  r.set_id(id);
  r.set_timeout_ms(timeout_ms);
  r.mutable_transfer_leadership()->set_name(name);
  return r;
}

TEST_F(ServiceTest, ALeadershipTransferAnswersOnceTheTargetLeads) {
  host_.SetLeader(kSelf);
  const raft::NodeId m2 = MemberIdFromName("m2");
  Send(TransferTo(54, "m2", 5000));
  ASSERT_TRUE(WaitFor([&] { return host_.transfer_target() == m2; }));
  std::this_thread::sleep_for(60ms);  // the transfer is under way: no answer yet
  EXPECT_TRUE(sink_->Drain().empty()) << "OK means done, not started";
  host_.SetLeader(m2);
  const Response r = WaitReply();
  EXPECT_TRUE(r.has_transfer_leadership()) << r.DebugString();
}

TEST_F(ServiceTest, ALeadershipTransferThatDoesNotFinishIsUnavailableAtItsDeadline) {
  host_.SetLeader(kSelf);
  const auto start = Clock::now();
  Send(TransferTo(55, "m2", 300));
  const Response r = WaitReply();
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(r.error().code(), coord::v1::UNAVAILABLE) << r.DebugString();
}

// Through a follower: the leader change the transfer causes must not fail the
// forward as "leadership changed"; the old leader's answer is relayed.
TEST_F(ServiceTest, AForwardedLeadershipTransferOutlivesTheLeaderChangeItCauses) {
  host_.SetLeader(kOther);
  Send(TransferTo(56, "m3", 5000));
  std::vector<pb::ForwardRequest> sent;
  ASSERT_TRUE(WaitFor([&] { return !(sent = ForwardsSentTo(kOther)).empty(); }));
  host_.SetLeader(MemberIdFromName("m3"));
  std::this_thread::sleep_for(60ms);  // several sweeps pass: none may fail it
  EXPECT_TRUE(sink_->Drain().empty());
  pb::PeerEnvelope reply;
  reply.mutable_reply()->set_forward_id(sent[0].forward_id());
  reply.mutable_reply()->mutable_response()->mutable_transfer_leadership();
  service_.OnPeerPayload(kOther, reply.SerializeAsString());
  const Response r = WaitReply();
  EXPECT_TRUE(r.has_transfer_leadership()) << r.DebugString();
}

}  // namespace
}  // namespace coord::server
