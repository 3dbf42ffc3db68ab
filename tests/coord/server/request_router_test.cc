// RequestRouter against a FakeRaftHost: where a write, a membership request and
// a read point go on a leader, a follower and a member without a leader; what the
// leader side answers a forward it must not start; which forwards a sweep ends;
// and the reply shaping (size bound, leader hint). The end-to-end paths through
// Service are in service_test.cc.
#include "server/request_router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

#include "fake_raft_host.h"
#include "wait_for.h"
#include "server/state_adapter.h"

namespace coord::server {
namespace {

using namespace std::chrono_literals;
using coord::v1::Request;
using coord::v1::Response;
using Clock = std::chrono::steady_clock;

constexpr raft::NodeId kSelf = 1;
constexpr raft::NodeId kOther = 2;

// Collects the one Outcome a request ends with (and counts extra ones).
class Completion {
 public:
  Done done() {
    return [this](Outcome o) {
      std::lock_guard lock(mu_);
      ++calls_;
      if (!outcome_) outcome_ = std::move(o);
    };
  }
  std::optional<Outcome> Wait(std::chrono::milliseconds limit = 5s) {
    WaitFor(
        [&] {
          std::lock_guard lock(mu_);
          return outcome_.has_value();
        },
        limit);
    std::lock_guard lock(mu_);
    return outcome_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::optional<Outcome> outcome_;
  int calls_ = 0;
};

class RequestRouterTest : public ::testing::Test {
 protected:
  RequestRouterTest()
      : members_(kSelf, MemberInfo{"m1", "127.0.0.1:1", "127.0.0.1:2"}),
        host_(kSelf),
        router_(RequestRouterOptions{kSelf, 512}, io_, &members_, &metrics_,
                [this](const Request& r, const std::string&, Clock::time_point, Done done) {
                  ++memberships_;
                  done(membership_answer_(r));
                }) {
    members_.Add(kOther, MemberInfo{"m2", "127.0.0.2:1", "127.0.0.2:2"});
    router_.set_raft_host(&host_);
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RequestRouterTest() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  static Request Put(uint64_t id, const std::string& key) {
    Request r;
    r.set_id(id);
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value("v");
    return r;
  }
  static Request MemberAdd(uint64_t id) {
    Request r;
    r.set_id(id);
    r.mutable_member_add()->set_name("m7");
    r.mutable_member_add()->set_peer_address("127.0.0.7:1");
    return r;
  }
  // The envelopes sent to `to` so far.
  std::vector<pb::PeerEnvelope> SentTo(raft::NodeId to) {
    std::vector<pb::PeerEnvelope> out;
    for (auto& [dest, payload] : host_.TakeSent()) {
      pb::PeerEnvelope e;
      if (dest == to && e.ParseFromString(payload)) out.push_back(e);
    }
    return out;
  }
  std::vector<pb::PeerEnvelope> WaitSentTo(raft::NodeId to) {
    std::vector<pb::PeerEnvelope> sent;
    WaitFor([&] { return !(sent = SentTo(to)).empty(); });
    return sent;
  }
  // A forward from kOther, whose clock the router has sampled just now.
  pb::ForwardRequest SampledForward(uint64_t forward_id, const Request& request,
                                    std::chrono::milliseconds expires_in) {
    router_.ObservePeerClock(kOther, PeerClock::NowMicros(), Clock::now());
    pb::ForwardRequest f;
    f.set_forward_id(forward_id);
    f.set_timeout_ms(5000);
    f.set_expiry_us(PeerClock::NowMicros(Clock::now() + expires_in));
    *f.mutable_request() = request;
    return f;
  }

  boost::asio::io_context io_;
  MemberDirectory members_;
  Metrics metrics_;
  FakeRaftHost host_;
  std::atomic<int> memberships_{0};
  std::function<Outcome(const Request&)> membership_answer_ = [](const Request& r) {
    Outcome o;
    o.response.set_id(r.id());
    o.response.mutable_member_add();
    return o;
  };
  RequestRouter router_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

TEST_F(RequestRouterTest, OnTheLeaderAWriteIsProposedAndItsTypedResultIsTheReply) {
  host_.SetLeader(kSelf);
  host_.HoldProposals(true);
  Completion c;
  router_.Submit(Put(5, "/k"), "", Clock::now() + 2s, c.done());
  auto held = host_.TakeProposals();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_NE(held[0].data.find("/k"), std::string::npos) << "the encoded put Command";
  raft::ProposeResult applied;
  applied.index = 3;
  Response typed;
  typed.mutable_put();
  typed.mutable_header()->set_revision(9);
  applied.result = typed;
  held[0].done(applied);
  const auto o = c.Wait();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->response.id(), 5u);
  EXPECT_TRUE(o->response.has_put());
  EXPECT_EQ(o->response.header().revision(), 9) << "the state machine's own Response object";
  EXPECT_EQ(o->response.header().member_id(), kSelf);
  EXPECT_EQ(c.calls(), 1);
}

TEST_F(RequestRouterTest, AMembershipRequestRunsOnTheLeadersExecutorAndIsForwardedElsewhere) {
  host_.SetLeader(kSelf);
  Completion here;
  router_.Submit(MemberAdd(6), "", Clock::now() + 2s, here.done());
  ASSERT_TRUE(here.Wait().has_value());
  EXPECT_TRUE(here.Wait()->response.has_member_add());
  EXPECT_EQ(memberships_.load(), 1);
  EXPECT_EQ(host_.proposals(), 0u) << "a membership request is not a state Command";

  host_.SetLeader(kOther);
  Completion there;
  router_.Submit(MemberAdd(7), "", Clock::now() + 2s, there.done());
  const auto sent = WaitSentTo(kOther);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].forward().request().has_member_add());
  EXPECT_EQ(memberships_.load(), 1) << "a follower runs no membership change itself";
}

TEST_F(RequestRouterTest, ARetryableFailureOfTheExecutorIsTriedAgainUntilItSucceeds) {
  host_.SetLeader(kSelf);
  std::atomic<int> refusals{2};
  membership_answer_ = [&refusals](const Request& r) {
    Outcome o;
    o.response.set_id(r.id());
    if (refusals.fetch_sub(1) > 0) {
      o.response.mutable_error()->set_code(coord::v1::UNAVAILABLE);
      o.retryable = true;  // e.g. another membership change was still pending
    } else {
      o.response.mutable_member_add();
    }
    return o;
  };
  Completion c;
  router_.Submit(MemberAdd(8), "", Clock::now() + 2s, c.done());
  const auto o = c.Wait();
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->response.has_member_add()) << o->response.DebugString();
  EXPECT_EQ(memberships_.load(), 3);
  EXPECT_EQ(c.calls(), 1);
}

TEST_F(RequestRouterTest, AForwardToAMemberThatNoLongerLeadsGoesBackRetryableUnstarted) {
  host_.SetLeader(kOther);  // we are a follower now
  router_.OnForwardRequest(kOther, SampledForward(11, Put(12, "/x"), 2s));
  const auto sent = WaitSentTo(kOther);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].has_reply());
  EXPECT_EQ(sent[0].reply().forward_id(), 11u);
  EXPECT_TRUE(sent[0].reply().retryable()) << "its origin may send it to the new leader";
  EXPECT_EQ(sent[0].reply().response().error().code(), coord::v1::UNAVAILABLE);
  EXPECT_EQ(host_.proposals(), 0u);
}

TEST_F(RequestRouterTest, AForwardedReadIsRefused) {
  host_.SetLeader(kSelf);
  Request range;
  range.set_id(13);
  range.mutable_range()->set_key("/a");
  router_.OnForwardRequest(kOther, SampledForward(14, range, 2s));
  const auto sent = WaitSentTo(kOther);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].reply().response().error().code(), coord::v1::INVALID_ARGUMENT);
  EXPECT_EQ(host_.proposals(), 0u);
}

TEST_F(RequestRouterTest, ALiveForwardIsProposedWithADeadlineNoLaterThanItsExpiry) {
  host_.SetLeader(kSelf);
  host_.HoldProposals(true);
  const auto before = Clock::now();
  router_.OnForwardRequest(kOther, SampledForward(15, Put(16, "/live"), 300ms));
  auto held = host_.TakeProposals();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_LE(held[0].deadline, before + 300ms + 5ms)
      << "the origin's expiry, not the 5 s of timeout_ms, bounds the proposal";
}

TEST_F(RequestRouterTest, AForwardPastItsExpiryIsAnsweredUnavailableAndNeverStarted) {
  host_.SetLeader(kSelf);
  router_.OnForwardRequest(kOther, SampledForward(17, Put(18, "/stale"), -10ms));
  const auto sent = WaitSentTo(kOther);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].reply().response().error().code(), coord::v1::UNAVAILABLE)
      << "certainly not applied: " << sent[0].DebugString();
  EXPECT_FALSE(sent[0].reply().retryable()) << "its client has been answered already";
  EXPECT_EQ(host_.proposals(), 0u);
  EXPECT_NE(metrics_.Render({}).find("coord_forwards_expired_total 1"), std::string::npos);
}

TEST_F(RequestRouterTest, ASweepEndsOrphanedForwardsButNotATransferAwaitingTheNewLeader) {
  host_.SetLeader(kOther);
  Completion write, transfer;
  router_.Submit(Put(19, "/w"), "", Clock::now() + 5s, write.done());
  Request t;
  t.set_id(20);
  t.mutable_transfer_leadership()->set_name("m3");
  router_.Submit(t, "", Clock::now() + 5s, transfer.done());
  ASSERT_EQ(WaitSentTo(kOther).size(), 2u);
  EXPECT_EQ(router_.pending_forwards(), 2u);

  router_.Sweep(Clock::now(), 3);  // member 3 leads now
  const auto o = write.Wait();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->response.error().code(), coord::v1::TIMEOUT) << "it may have been applied";
  EXPECT_EQ(router_.pending_forwards(), 1u) << "the transfer waits for its reply";

  router_.Sweep(Clock::now() + 6s, 3);
  ASSERT_TRUE(transfer.Wait().has_value());
  EXPECT_EQ(transfer.Wait()->response.error().code(), coord::v1::TIMEOUT);
  EXPECT_EQ(router_.pending_forwards(), 0u);
}

TEST_F(RequestRouterTest, AReadPointIsRetriedUntilALeaderAppearsOrTheDeadline) {
  std::atomic<bool> ran{false};
  Completion failed;
  router_.AfterReadIndex(
      21, Clock::now() + 2s, [&] { ran = true; }, failed.done());
  std::this_thread::sleep_for(60ms);  // a few refused read points meanwhile
  EXPECT_FALSE(ran.load());
  host_.SetLeader(kOther);
  EXPECT_TRUE(WaitFor([&] { return ran.load(); }));
  EXPECT_EQ(failed.calls(), 0);

  host_.SetLeader(raft::kNoNode);
  Completion none;
  const auto start = Clock::now();
  router_.AfterReadIndex(
      22, Clock::now() + 150ms, [] { FAIL() << "no read point"; }, none.done());
  const auto o = none.Wait();
  ASSERT_TRUE(o.has_value());
  EXPECT_GE(Clock::now() - start, 100ms) << "retried until close to the deadline";
  EXPECT_EQ(o->response.id(), 22u);
  EXPECT_EQ(o->response.error().code(), coord::v1::UNAVAILABLE) << "a read applied nothing";
}

TEST_F(RequestRouterTest, AReplyOverTheLimitBecomesTooLargeSayingWhetherItWasApplied) {
  Response big;
  big.mutable_range()->add_kvs()->set_value(std::string(600, 'x'));
  Response read = big;
  router_.BoundReplySize(&read, false);
  EXPECT_EQ(read.error().code(), coord::v1::TOO_LARGE);
  EXPECT_FALSE(read.error().applied());
  EXPECT_FALSE(read.has_range());
  EXPECT_NE(read.error().message().find("pages"), std::string::npos);
  Response write = big;
  router_.BoundReplySize(&write, true);
  EXPECT_TRUE(write.error().applied());
  Response small;
  small.mutable_put();
  router_.BoundReplySize(&small, true);
  EXPECT_TRUE(small.has_put());
}

TEST_F(RequestRouterTest, AnErrorNamesTheLeadersClientAddress) {
  host_.SetLeader(kOther);
  const Outcome o = router_.ErrorOutcome(23, Status::Unavailable("x"));
  EXPECT_EQ(o.response.id(), 23u);
  EXPECT_EQ(o.response.error().leader_hint(), "127.0.0.2:2");
}

}  // namespace
}  // namespace coord::server
