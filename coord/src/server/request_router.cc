#include "server/request_router.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/codec.h"
#include "server/proposal_outcome.h"
#include "server/state_adapter.h"
#include "wire_rules.h"

namespace coord::server {
namespace {

using coord::v1::Request;
using coord::v1::Response;

// A read point failed in a way that a later try may not (no leader yet, the
// leadership moving, the read aborted by a leader change).
bool TransientReadFailure(const Status& s) {
  const auto code = s.code();
  return code == StatusCode::kUnavailable || code == StatusCode::kNotLeader ||
         code == StatusCode::kAborted;
}

coord::state::Command CommandFromRequest(const Request& request, const std::string& user) {
  coord::state::Command c;
  c.set_user(user);
  c.set_client_id(request.client_id());
  if (request.client_id() != 0) c.set_client_incarnation(request.client_incarnation());
  c.set_sequence(request.sequence());
  switch (request.body_case()) {
    case Request::kPut:
      *c.mutable_put() = request.put();
      break;
    case Request::kDelete:
      *c.mutable_delete_() = request.delete_();
      break;
    case Request::kTxn:
      *c.mutable_txn() = request.txn();
      break;
    case Request::kCompact:
      *c.mutable_compact() = request.compact();
      break;
    case Request::kSessionCreate:
      *c.mutable_session_create() = request.session_create();
      break;
    case Request::kSessionKeepalive:
      *c.mutable_session_keepalive() = request.session_keepalive();
      break;
    case Request::kSessionClose:
      *c.mutable_session_close() = request.session_close();
      break;
    case Request::kLockAcquire:
      *c.mutable_lock_acquire() = request.lock_acquire();
      break;
    case Request::kLockRelease:
      *c.mutable_lock_release() = request.lock_release();
      break;
    case Request::kLockRevoke:
      *c.mutable_lock_revoke() = request.lock_revoke();
      break;
    case Request::kElectionCampaign:
      *c.mutable_election_campaign() = request.election_campaign();
      break;
    case Request::kElectionResign:
      *c.mutable_election_resign() = request.election_resign();
      break;
    case Request::kElectionProclaim:
      *c.mutable_election_proclaim() = request.election_proclaim();
      break;
    case Request::kTpcBegin:
      *c.mutable_tpc_begin() = request.tpc_begin();
      break;
    case Request::kTpcVote:
      *c.mutable_tpc_vote() = request.tpc_vote();
      break;
    case Request::kTpcAck:
      *c.mutable_tpc_ack() = request.tpc_ack();
      break;
    case Request::kTopicCommitOffset:
      *c.mutable_topic_commit_offset() = request.topic_commit_offset();
      break;
    case Request::kTopicTrim:
      *c.mutable_topic_trim() = request.topic_trim();
      break;
    case Request::kAuthSet:
      *c.mutable_auth_set() = request.auth_set();
      break;
    case Request::kUserChange:
      *c.mutable_user_change() = request.user_change();
      break;
    case Request::kRoleChange:
      *c.mutable_role_change() = request.role_change();
      break;
    default:
      break;
  }
  return c;
}

}  // namespace

bool IsLeaderOnlyRequest(Request::BodyCase c) {
  return coord::v1::IsWriteRequest(c) || IsMembershipRequest(c);
}

bool IsMembershipRequest(Request::BodyCase c) {
  return c == Request::kMemberAdd || c == Request::kMemberPromote || c == Request::kMemberRemove ||
         c == Request::kTransferLeadership;
}

RequestRouter::RequestRouter(RequestRouterOptions options, boost::asio::io_context& io,
                             const MemberDirectory* members, Metrics* metrics,
                             LeaderExecutor membership)
    : options_(options),
      io_(io),
      members_(members),
      metrics_(metrics),
      membership_(std::move(membership)) {}

void RequestRouter::FillHeader(Response* response) const {
  const raft::NodeStatus st = raft_->GetStatus();
  response->mutable_header()->set_raft_term(st.raft.term);
  response->mutable_header()->set_member_id(options_.member_id);
}

void RequestRouter::BoundReplySize(Response* response, bool applied) const {
  const size_t bytes = response->ByteSizeLong();
  if (bytes <= options_.max_response_bytes) return;
  std::string message = "the reply of " + std::to_string(bytes) + " bytes is over the " +
                        std::to_string(options_.max_response_bytes) + "-byte limit";
  message += applied ? "; the write WAS applied at header.revision, only its results are "
                       "dropped: read the ranges separately, in pages"
                     : ": read in pages (limit / continue after the last item)";
  response->clear_body();
  *response->mutable_error() = ApiError(Status::TooLarge(message), "");
  response->mutable_error()->set_applied(applied);
}

Outcome RequestRouter::ErrorOutcome(uint64_t id, const Status& status, bool retryable) const {
  Outcome o;
  o.response.set_id(id);
  std::string hint;
  if (raft_ != nullptr) hint = members_->ClientAddressOf(raft_->GetStatus().leader);
  *o.response.mutable_error() = ApiError(status, hint);
  o.retryable = retryable;
  return o;
}

void RequestRouter::Submit(const Request& request, const std::string& user,
                           Clock::time_point deadline, Done done) {
  SubmitLeaderOnly(request, user, deadline, false, std::move(done));
}

void RequestRouter::SubmitLeaderOnly(const Request& request, const std::string& user,
                                     Clock::time_point deadline, bool forwarded, Done done) {
  const raft::NodeStatus st = raft_->GetStatus();
  if (!st.error.ok() || !st.running) {
    done(ErrorOutcome(request.id(),
                      Status::Unavailable("member is not serving: " + st.error.ToString())));
    return;
  }
  auto again = [this, request, user, deadline, done] {
    RetryLater([this, request, user, deadline, done] {
      SubmitLeaderOnly(request, user, deadline, false, done);
    });
  };
  // Retries a never-appended request until the deadline (origin member only;
  // a forwarded request goes back to the origin, which retries).
  auto retrying = [forwarded, deadline, again, done](Outcome o) {
    if (o.retryable && !forwarded && Clock::now() + kRetryDelay < deadline) {
      again();
      return;
    }
    done(std::move(o));
  };
  if (st.raft.role == raft::Role::kLeader) {
    if (IsMembershipRequest(request.body_case())) {
      membership_(request, user, deadline, retrying);
    } else {
      ProposeWrite(request, user, deadline, retrying);
    }
  } else if (forwarded) {
    done(ErrorOutcome(request.id(), Status::NotLeader("not the leader"), true));
  } else if (st.leader != raft::kNoNode && st.leader != options_.member_id) {
    Forward(st.leader, request, user, deadline, retrying);
  } else if (Clock::now() + kRetryDelay < deadline) {
    again();
  } else {
    done(ErrorOutcome(request.id(),
                      Status::Unavailable("no leader before the deadline (no quorum?)")));
  }
}

void RequestRouter::ProposeWrite(const Request& request, const std::string& user,
                                 Clock::time_point deadline, Done done) {
  const std::string data = EncodeCommand(CommandFromRequest(request, user));
  const auto start = Clock::now();
  const uint64_t id = request.id();
  raft_->Propose(data, deadline, [this, id, start, done](raft::ProposeResult r) {
    metrics_->ObserveProposal(Clock::now() - start);
    if (!r.status.ok()) {
      const ProposalFailure failure = DescribeProposalFailure(r);
      done(ErrorOutcome(id, failure.status, failure.retryable));
      return;
    }
    auto* applied = std::any_cast<Response>(&r.result);
    if (applied == nullptr) {
      // The entry is applied; only its result went missing (a bug).
      done(ErrorOutcome(id, OutcomeUnknown("applied, but its result was lost (a bug)")));
      return;
    }
    Outcome o;
    o.response = std::move(*applied);
    o.response.set_id(id);
    FillHeader(&o.response);
    BoundReplySize(&o.response, true);  // before a forward reply carries it
    done(std::move(o));
  });
}

void RequestRouter::Forward(raft::NodeId leader, const Request& request, const std::string& user,
                            Clock::time_point deadline, Done done) {
  pb::PeerEnvelope envelope;
  const auto now = Clock::now();
  // A leadership transfer is answered after the leadership moved.
  const bool transfer = request.body_case() == Request::kTransferLeadership;
  envelope.mutable_forward()->set_forward_id(
      forwards_.Add(leader, deadline, std::move(done), transfer));
  *envelope.mutable_forward()->mutable_request() = request;
  envelope.mutable_forward()->set_user(user);
  const auto left = deadline - now;
  envelope.mutable_forward()->set_timeout_ms(static_cast<uint32_t>(
      std::max<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count(), 1)));
  const auto margin =
      std::clamp<Clock::duration>(left / 4, Clock::duration::zero(), kForwardExpiryMargin);
  envelope.mutable_forward()->set_expiry_us(PeerClock::NowMicros(deadline - margin));
  SendToPeer(leader, &envelope);
}

void RequestRouter::SendToPeer(raft::NodeId to, pb::PeerEnvelope* envelope) {
  envelope->set_sent_us(PeerClock::NowMicros());
  raft_->SendApp(to, envelope->SerializeAsString());
}

void RequestRouter::AfterReadIndex(uint64_t request_id, Clock::time_point deadline,
                                   std::function<void()> then, Done failed) {
  raft_->ReadIndex(deadline, [this, request_id, deadline, then, failed](raft::ReadResult r) {
    if (r.status.ok()) {
      then();
      return;
    }
    if (TransientReadFailure(r.status) && Clock::now() + kRetryDelay < deadline) {
      RetryLater([this, request_id, deadline, then, failed] {
        AfterReadIndex(request_id, deadline, then, failed);
      });
      return;
    }
    failed(ErrorOutcome(request_id, NotServed(r.status)));
  });
}

void RequestRouter::RetryLater(std::function<void()> f) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, kRetryDelay);
  timer->async_wait([timer, f = std::move(f)](boost::system::error_code ec) {
    if (!ec) f();
  });
}

void RequestRouter::ObservePeerClock(raft::NodeId from, int64_t sent_us,
                                     Clock::time_point received) {
  if (sent_us != 0) peer_clock_.Observe(from, sent_us, received);
}

void RequestRouter::OnForwardRequest(raft::NodeId from, const pb::ForwardRequest& forward) {
  const uint64_t fid = forward.forward_id();
  auto reply = [this, from, fid](Outcome o) {
    pb::PeerEnvelope envelope;
    envelope.mutable_reply()->set_forward_id(fid);
    *envelope.mutable_reply()->mutable_response() = std::move(o.response);
    envelope.mutable_reply()->set_retryable(o.retryable);
    SendToPeer(from, &envelope);
  };
  const Request& request = forward.request();
  if (!IsLeaderOnlyRequest(request.body_case())) {
    reply(ErrorOutcome(request.id(), Status::InvalidArgument("request cannot be forwarded")));
    return;
  }
  const auto now = Clock::now();
  const std::chrono::milliseconds timeout(forward.timeout_ms());
  auto deadline = now + timeout;
  if (forward.expiry_us() != 0) {
    // Unstamped (no clock sample from `from`) counts as expired: never started late.
    const auto left = peer_clock_.Remaining(from, forward.expiry_us(), now);
    if (left.count() <= 0) {
      // Its origin has given up on it (the network held it): never start it.
      metrics_->CountForwardExpired();
      reply(ErrorOutcome(request.id(), Status::Unavailable("the forward reached the leader after "
                                                           "its deadline; not applied")));
      return;
    }
    if (left < timeout) deadline = now + left;  // `left` may be huge: no overflow
  }
  SubmitLeaderOnly(request, forward.user(), deadline, true, reply);
}

void RequestRouter::OnForwardReply(const pb::ForwardReply& reply) {
  std::optional<Done> done = forwards_.Take(reply.forward_id());
  if (!done) return;  // ended already (swept), or a duplicate
  (*done)(Outcome{reply.response(), reply.retryable()});
}

void RequestRouter::Sweep(Clock::time_point now, raft::NodeId leader) {
  // Forwards whose deadline passed, or whose leader is no longer the leader (it
  // will likely never answer: fail now rather than at the deadline; the request
  // may or may not have been applied, as with any lost reply).
  ForwardTable::Swept swept = forwards_.Sweep(now, leader);
  for (Done& d : swept.expired) {
    d(ErrorOutcome(0, OutcomeUnknown("the leader did not answer before the deadline")));
  }
  for (Done& d : swept.orphaned) {
    d(ErrorOutcome(0, OutcomeUnknown("leadership changed while the request was in flight")));
  }
}

}  // namespace coord::server
