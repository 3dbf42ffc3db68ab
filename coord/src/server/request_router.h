// RequestRouter: takes a request to where it has to run — the leader's log, or a
// linearizable read point — and brings its Outcome back, exactly once. It knows
// nothing about what a request means; Service decides which requests take which
// path and what the client is told besides.
//
//   Submit(request, user, deadline, done): a write or a membership request, sent
//     by `user` (the connection's authenticated user; empty: none). The user goes
//     with a forward and into the Command, where the apply checks it.
//     * On the leader, a write is proposed (its typed apply result becomes the
//       reply, no serialize/parse round trip) and a membership request goes to
//       the LeaderExecutor the router was built with.
//     * On a follower, it is forwarded to the leader (PeerEnvelope.forward) with
//       an expiry in this member's clock, a margin before the client's deadline;
//       the leader's ForwardReply completes it (OnForwardReply).
//     * With no leader, it is tried again every kRetryDelay until the deadline,
//       then answered UNAVAILABLE.
//     A request is tried again only while it is certainly not applied
//     (Outcome::retryable); otherwise its failure is final (TIMEOUT when the
//     outcome is unknown, proposal_outcome.h).
//   AfterReadIndex(id, deadline, then, failed): `then` once the local state
//     reflects every write committed before the call; transient failures (no
//     leader, leadership moving) are retried until the deadline, then `failed`
//     gets UNAVAILABLE (a read applied nothing).
//   OnForwardRequest(from, forward): the leader side. A forward whose expiry has
//     passed at its origin (PeerClock), or whose origin's clock was never
//     sampled, is answered UNAVAILABLE and never started: its client has been
//     told it failed. One from a member that is not leading goes back retryable.
//   Sweep(now, leader): ends the forwards whose deadline passed or whose leader is
//     no longer the leader, with TIMEOUT (their outcome is unknown).
//   Replies: FillHeader, BoundReplySize (TOO_LARGE past max_response_bytes) and
//     ErrorOutcome (the error with the leader's client address as its hint).
//
// Thread-safety: every method may be called from any thread. Callbacks run on the
// caller's thread, a Raft host callback's, or the io_context's (retries); never
// under a lock of the router.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "coord.pb.h"
#include "peer.pb.h"
#include "server/forward_table.h"
#include "server/member_directory.h"
#include "server/metrics.h"
#include "server/outcome.h"
#include "server/peer_clock.h"
#include "server/raft_host.h"

namespace coord::server {

struct RequestRouterOptions {
  uint64_t member_id = 0;
  size_t max_response_bytes = 4 * 1024 * 1024;
};

class RequestRouter {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs a membership request on this member, which leads (service_membership.cc).
  using LeaderExecutor =
      std::function<void(const coord::v1::Request&, const std::string& user,
                         Clock::time_point deadline, Done)>;

  // How long a retry waits: every "try again shortly" of the server.
  static constexpr auto kRetryDelay = std::chrono::milliseconds(25);
  // How long before its client's deadline a forward's expiry is set (covers the
  // error of the leader's PeerClock estimate).
  static constexpr auto kForwardExpiryMargin = std::chrono::milliseconds(50);

  // `io` runs the retries; `members` and `metrics` are borrowed and must outlive
  // the router. The Raft host is set with set_raft_host() before any request.
  RequestRouter(RequestRouterOptions options, boost::asio::io_context& io,
                const MemberDirectory* members, Metrics* metrics, LeaderExecutor membership);

  void set_raft_host(RaftHost* raft) { raft_ = raft; }
  RaftHost* raft() const { return raft_; }

  void Submit(const coord::v1::Request& request, const std::string& user,
              Clock::time_point deadline, Done done);
  void AfterReadIndex(uint64_t request_id, Clock::time_point deadline, std::function<void()> then,
                      Done failed);

  // Peer side (the service's peer strand, in arrival order).
  void ObservePeerClock(raft::NodeId from, int64_t sent_us, Clock::time_point received);
  void OnForwardRequest(raft::NodeId from, const pb::ForwardRequest& forward);
  void OnForwardReply(const pb::ForwardReply& reply);
  void Sweep(Clock::time_point now, raft::NodeId leader);
  size_t pending_forwards() const { return forwards_.size(); }

  // Stamps `envelope` with this member's clock and sends it to member `to`.
  void SendToPeer(raft::NodeId to, pb::PeerEnvelope* envelope);
  // Runs `f` on the io_context after kRetryDelay.
  void RetryLater(std::function<void()> f);

  void FillHeader(coord::v1::Response* response) const;
  // Replaces a reply over max_response_bytes by TOO_LARGE; `applied` says the
  // request was a write that took effect (the error then says so).
  void BoundReplySize(coord::v1::Response* response, bool applied) const;
  Outcome ErrorOutcome(uint64_t id, const Status& status, bool retryable = false) const;

 private:
  // `forwarded`: the request came from another member, which retries it itself.
  void SubmitLeaderOnly(const coord::v1::Request& request, const std::string& user,
                        Clock::time_point deadline, bool forwarded, Done done);
  void ProposeWrite(const coord::v1::Request& request, const std::string& user,
                    Clock::time_point deadline, Done done);
  void Forward(raft::NodeId leader, const coord::v1::Request& request, const std::string& user,
               Clock::time_point deadline, Done done);

  const RequestRouterOptions options_;
  boost::asio::io_context& io_;
  const MemberDirectory* members_;
  Metrics* metrics_;
  const LeaderExecutor membership_;
  RaftHost* raft_ = nullptr;
  ForwardTable forwards_;  // own lock
  PeerClock peer_clock_;   // own lock
};

// Whether `body` is a membership request (member_add/promote/remove,
// transfer_leadership): leader-only, but not a state Command.
bool IsMembershipRequest(coord::v1::Request::BodyCase body);
// Whether `body` runs on the leader only: a write (a state Command) or a
// membership request. These are what Submit and a forward accept.
bool IsLeaderOnlyRequest(coord::v1::Request::BodyCase body);

}  // namespace coord::server
