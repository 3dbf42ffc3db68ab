#include "server/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <iterator>
#include <sstream>

#include "wire_rules.h"
#include "server/codec.h"

namespace coord::server {
namespace {

using coord::v1::Request;
using coord::v1::Response;
using coord::v1::ServerMessage;

constexpr auto kHelloInterval = std::chrono::milliseconds(500);
constexpr auto kProgressInterval = std::chrono::milliseconds(1000);

bool IsWrite(Request::BodyCase c) { return coord::v1::IsWriteRequest(c); }

bool IsMembership(Request::BodyCase c) {
  return c == Request::kMemberAdd || c == Request::kMemberPromote || c == Request::kMemberRemove ||
         c == Request::kTransferLeadership;
}

// How long before its client's deadline the origin of a forward stops letting
// the leader start it (covers the error of the leader's PeerClock estimate).
constexpr auto kForwardExpiryMargin = std::chrono::milliseconds(50);

coord::state::Command CommandFromRequest(const Request& request) {
  coord::state::Command c;
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
    default:
      break;
  }
  return c;
}

}  // namespace

Service::Service(ServiceOptions options, boost::asio::io_context& io, StateAdapter* adapter,
                 WatchHub* hub, SessionTracker* tracker, Metrics* metrics)
    : options_(std::move(options)),
      io_(io),
      peer_strand_(boost::asio::make_strand(io)),
      adapter_(adapter),
      hub_(hub),
      tracker_(tracker),
      metrics_(metrics),
      timer_(io),
      members_(options_.member_id,
               MemberInfo{options_.name, options_.peer_address, options_.client_address}) {}

Service::~Service() { Stop(); }

void Service::ListenToAdapter() {
  adapter_->set_on_applied([this](const ApplyResult& r) { OnApplied(r); });
  adapter_->set_on_sessions_expired(
      [this](const std::vector<int64_t>& ids) { OnSessionsExpired(ids); });
  adapter_->set_on_restored([this](const StateMachine& sm) { OnRestored(sm); });
}

void Service::set_client_address(const std::string& address) {
  {
    std::lock_guard lock(mu_);
    options_.client_address = address;
  }
  members_.SetSelfClientAddress(address);
}

void Service::AddMember(uint64_t id, MemberInfo info) { members_.Add(id, info); }

void Service::Start() {
  duties_ = std::make_unique<LeaderDuties>(
      LeaderDuties::Parts{adapter_, raft_, tracker_, lock_tracker_, tpc_tracker_},
      options_.election_timeout, options_.default_timeout);
  timer_.expires_after(options_.tick);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) OnTick();
  });
}

void Service::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  timer_.cancel();
}

void Service::FillHeader(Response* response) const {
  const raft::NodeStatus st = raft_->GetStatus();
  response->mutable_header()->set_raft_term(st.raft.term);
  response->mutable_header()->set_member_id(options_.member_id);
}

void Service::BoundReplySize(Response* response, bool applied) const {
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

Outcome Service::ErrorOutcome(uint64_t id, const Status& status, bool retryable) const {
  Outcome o;
  o.response.set_id(id);
  std::string hint;
  if (raft_ != nullptr) hint = members_.ClientAddressOf(raft_->GetStatus().leader);
  *o.response.mutable_error() = ApiError(status, hint);
  o.retryable = retryable;
  return o;
}

void Service::Handle(const std::shared_ptr<ClientSink>& sink, Request request, bool text) {
  metrics_->CountRequest(RequestTypeName(request));
  const auto timeout = request.timeout_ms() > 0 ? std::chrono::milliseconds(request.timeout_ms())
                                                : options_.default_timeout;
  Route(sink, request, text, Clock::now() + timeout);
}

void Service::Route(const std::shared_ptr<ClientSink>& sink, const Request& request, bool text,
                    Clock::time_point deadline) {
  const uint64_t id = request.id();
  const std::string type = RequestTypeName(request);
  auto deliver = [this, type, id](Response response) {
    response.set_id(id);
    BoundReplySize(&response, false);  // a write's reply is bounded where it was applied
    if (response.has_error() && response.error().code() != coord::v1::OK) {
      metrics_->CountError(type, coord::v1::ErrorCode_Name(response.error().code()));
    }
    ServerMessage m;
    *m.mutable_response() = std::move(response);
    return m;
  };
  auto push = [sink, text, deliver](Response response) {
    sink->Push(deliver(std::move(response)), text);
  };

  const auto body = request.body_case();
  if (body == Request::kTxn && StateMachine::IsReadOnlyTxn(request.txn())) {
    // Nothing to replicate: served here after a ReadIndex, like a range.
    LinearizableRead(request, deadline, [push](Outcome o) { push(std::move(o.response)); });
    return;
  }
  if (body == Request::kSessionCreate &&
      pushes_.SessionsOwnedBy(sink->connection_id()) >= options_.max_sessions_per_connection) {
    push(ErrorResponse(id, coord::v1::RESOURCE_EXHAUSTED,
                       "this connection owns " +
                           std::to_string(options_.max_sessions_per_connection) +
                           " live sessions, its limit (--max-sessions-per-connection); close "
                           "unused ones and retry"));
    return;
  }
  if (IsWrite(body) || IsMembership(body)) {
    const uint64_t slot = sink->Reserve();
    SubmitLeaderOnly(
        request, deadline, false, [this, sink, text, slot, deliver, request](Outcome o) {
          const Response& r = o.response;
          if (r.has_session_create() || r.has_session_keepalive()) {
            const int64_t sid = r.has_session_create() ? r.session_create().session_id()
                                                       : r.session_keepalive().session_id();
            pushes_.SetSessionOwner(sid, sink, text);
          } else if (r.has_session_close()) {
            pushes_.ForgetSession(request.session_close().session_id());
          }
          // A queued acquire: register after the reply is in place, so its LockEvent
          // can never overtake it (the ordering rule).
          NoteLockReply(request, r);
          const bool queued = r.has_lock_acquire() && !r.lock_acquire().granted();
          const Response kept = queued ? r : Response();
          sink->Fill(slot, deliver(std::move(o.response)), text);
          if (queued) RegisterLockWaiter(sink, text, request, kept);
        });
    return;
  }
  switch (body) {
    case Request::kRange:
      if (request.range().serializable()) {
        push(LocalRead(request));
      } else {
        LinearizableRead(request, deadline, [push](Outcome o) { push(std::move(o.response)); });
      }
      return;
    case Request::kElectionLeader:
      if (request.election_leader().unobserve()) {
        push(Unobserve(sink->connection_id(), request));
        return;
      }
      if (request.election_leader().observe()) {
        Observe(sink, request, text, deadline);
        return;
      }
      [[fallthrough]];
    case Request::kTpcList:
      if (request.tpc_list().subscribe()) {
        SubscribeParticipant(sink, request, text, deadline);
        return;
      }
      [[fallthrough]];
    case Request::kLockInspect:
    case Request::kLockList:
    case Request::kTpcGet:
    case Request::kTopicRead:
      LinearizableRead(request, deadline, [push](Outcome o) { push(std::move(o.response)); });
      return;
    case Request::kSessionList: {
      Response r = adapter_->Read([&](const StateMachine& sm) {
        Response out;
        auto page = sm.ListSessions(request.session_list(), options_.max_response_bytes / 2);
        if (page.ok()) {
          *out.mutable_session_list() = std::move(*page);
        } else {
          *out.mutable_error() = ApiError(page.status(), "");
        }
        out.mutable_header()->set_revision(sm.revision());
        out.mutable_header()->set_compacted_revision(sm.compacted_revision());
        return out;
      });
      FillHeader(&r);
      push(std::move(r));
      return;
    }
    case Request::kWatchCreate: {
      Response header_holder;
      FillHeader(&header_holder);
      // The hub queues the reply and the catch-up itself, under the state lock.
      adapter_->Read([&](const StateMachine& sm) {
        hub_->Create(sink, id, request.watch_create(), text, sm, header_holder.header());
        return 0;
      });
      return;
    }
    case Request::kWatchCancel: {
      Response r;
      if (hub_->Cancel(sink->connection_id(), request.watch_cancel().watch_id())) {
        r.mutable_watch_cancel();
        FillHeader(&r);
      } else {
        r = ErrorResponse(id, coord::v1::NOT_FOUND,
                          "no watch " + std::to_string(request.watch_cancel().watch_id()) +
                              " on this connection");
      }
      push(std::move(r));
      return;
    }
    case Request::kMemberList:
      push(MemberList(id));
      return;
    case Request::kStatus:
      push(StatusResponse(id));
      return;
    default:
      push(ErrorResponse(id, coord::v1::INVALID_ARGUMENT, "unknown request type"));
      return;
  }
}

void Service::SubmitLeaderOnly(const Request& request, Clock::time_point deadline, bool forwarded,
                               Done done) {
  const raft::NodeStatus st = raft_->GetStatus();
  if (!st.error.ok() || !st.running) {
    done(ErrorOutcome(request.id(),
                      Status::Unavailable("member is not serving: " + st.error.ToString())));
    return;
  }
  // Retries a never-appended request until the deadline (origin member only;
  // a forwarded request goes back to the origin, which retries).
  auto retrying = [this, request, deadline, forwarded, done](Outcome o) {
    if (o.retryable && !forwarded && Clock::now() + kRetryDelay < deadline) {
      RetryLater(
          [this, request, deadline, done] { SubmitLeaderOnly(request, deadline, false, done); });
      return;
    }
    done(std::move(o));
  };
  if (st.raft.role == raft::Role::kLeader) {
    if (IsMembership(request.body_case())) {
      ProposeMembership(request, deadline, retrying);
    } else {
      ProposeWrite(request, deadline, retrying);
    }
  } else if (forwarded) {
    done(ErrorOutcome(request.id(), Status::NotLeader("not the leader"), true));
  } else if (st.leader != raft::kNoNode && st.leader != options_.member_id) {
    Forward(st.leader, request, deadline, retrying);
  } else if (Clock::now() + kRetryDelay < deadline) {
    RetryLater(
        [this, request, deadline, done] { SubmitLeaderOnly(request, deadline, false, done); });
  } else {
    done(ErrorOutcome(request.id(),
                      Status::Unavailable("no leader before the deadline (no quorum?)")));
  }
}

void Service::ProposeWrite(const Request& request, Clock::time_point deadline, Done done) {
  const std::string data = EncodeCommand(CommandFromRequest(request));
  const auto start = Clock::now();
  const uint64_t id = request.id();
  raft_->Propose(data, deadline, [this, id, start, done](raft::ProposeResult r) {
    metrics_->ObserveProposal(Clock::now() - start);
    if (r.status.ok()) {
      Outcome o;
      auto* applied = std::any_cast<Response>(&r.result);
      if (applied == nullptr) {
        // The entry is applied; only its result went missing (a bug).
        done(ErrorOutcome(id, OutcomeUnknown("applied, but its result was lost (a bug)")));
        return;
      }
      o.response = std::move(*applied);
      o.response.set_id(id);
      FillHeader(&o.response);
      BoundReplySize(&o.response, true);  // before a forward reply carries it
      done(std::move(o));
      return;
    }
    const ProposalFailure failure = DescribeProposalFailure(r);
    done(ErrorOutcome(id, failure.status, failure.retryable));
  });
}

void Service::Forward(raft::NodeId leader, const Request& request, Clock::time_point deadline,
                      Done done) {
  pb::PeerEnvelope envelope;
  const auto now = Clock::now();
  // A leadership transfer is answered after the leadership moved.
  const bool transfer = request.body_case() == Request::kTransferLeadership;
  envelope.mutable_forward()->set_forward_id(
      forwards_.Add(leader, deadline, std::move(done), transfer));
  *envelope.mutable_forward()->mutable_request() = request;
  const auto left = deadline - now;
  envelope.mutable_forward()->set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(left).count(), 1)));
  const auto margin = std::clamp<Clock::duration>(left / 4, Clock::duration::zero(),
                                                   kForwardExpiryMargin);
  envelope.mutable_forward()->set_expiry_us(PeerClock::NowMicros(deadline - margin));
  SendToPeer(leader, &envelope);
}

void Service::SendToPeer(raft::NodeId to, pb::PeerEnvelope* envelope) {
  envelope->set_sent_us(PeerClock::NowMicros());
  raft_->SendApp(to, envelope->SerializeAsString());
}

void Service::LinearizableRead(const Request& request, Clock::time_point deadline, Done done) {
  raft_->ReadIndex(deadline, [this, request, deadline, done](raft::ReadResult r) {
    if (r.status.ok()) {
      done(Outcome{LocalRead(request), false});
      return;
    }
    const auto code = r.status.code();
    const bool transient = code == StatusCode::kUnavailable || code == StatusCode::kNotLeader ||
                           code == StatusCode::kAborted;
    if (transient && Clock::now() + kRetryDelay < deadline) {
      RetryLater([this, request, deadline, done] { LinearizableRead(request, deadline, done); });
      return;
    }
    done(ErrorOutcome(request.id(), NotServed(r.status)));
  });
}

void Service::AfterReadIndex(const std::shared_ptr<ClientSink>& sink, const Request& request,
                             bool text, Clock::time_point deadline, std::function<void()> f) {
  raft_->ReadIndex(deadline, [this, sink, request, text, deadline, f](raft::ReadResult r) {
    if (r.status.ok()) {
      f();
      return;
    }
    const auto code = r.status.code();
    const bool transient = code == StatusCode::kUnavailable || code == StatusCode::kNotLeader ||
                           code == StatusCode::kAborted;
    if (transient && Clock::now() + kRetryDelay < deadline) {
      RetryLater([this, sink, request, text, deadline, f] {
        AfterReadIndex(sink, request, text, deadline, f);
      });
      return;
    }
    ServerMessage m;
    *m.mutable_response() = ErrorOutcome(request.id(), NotServed(r.status)).response;
    sink->Push(m, text);
  });
}

void Service::RetryLater(std::function<void()> f) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, kRetryDelay);
  timer->async_wait([timer, f = std::move(f)](boost::system::error_code ec) {
    if (!ec) f();
  });
}

Response Service::LocalRead(const Request& request) const {
  Response r = adapter_->Read([&](const StateMachine& sm) {
    switch (request.body_case()) {
      case Request::kLockInspect:
        return sm.LockInspect(request.lock_inspect());
      case Request::kLockList:
        return sm.LockList(request.lock_list());
      case Request::kElectionLeader:
        return sm.ElectionLeader(request.election_leader());
      case Request::kTpcGet:
        return sm.TpcGet(request.tpc_get());
      case Request::kTpcList:
        return sm.TpcList(request.tpc_list());
      case Request::kTopicRead:
        return sm.TopicRead(request.topic_read());
      case Request::kTxn:
        return sm.ReadTxn(request.txn(), options_.max_response_bytes);
      default:
        return sm.Range(request.range(), options_.max_response_bytes);
    }
  });
  r.set_id(request.id());
  FillHeader(&r);
  return r;
}

void Service::OnConnectionClosed(uint64_t connection_id) {
  hub_->RemoveConnection(connection_id);
  pushes_.RemoveConnection(connection_id);
}

void Service::OnPeerPayload(raft::NodeId from, std::string payload) {
  const auto received = Clock::now();
  auto envelope = std::make_shared<pb::PeerEnvelope>();
  if (!envelope->ParseFromString(payload)) {
    spdlog::warn("server: undecodable peer payload from member {} ({} bytes)", from,
                 payload.size());
    return;
  }
  // Stamped before it waits for the I/O thread, so the bound stays tight.
  if (envelope->sent_us() != 0) peer_clock_.Observe(from, envelope->sent_us(), received);
  boost::asio::post(peer_strand_, [this, from, envelope] {
    switch (envelope->kind_case()) {
      case pb::PeerEnvelope::kForward:
        OnForwardRequest(from, envelope->forward());
        break;
      case pb::PeerEnvelope::kReply: {
        std::optional<Done> done = forwards_.Take(envelope->reply().forward_id());
        if (!done) return;  // ended already (swept)
        (*done)(Outcome{envelope->reply().response(), envelope->reply().retryable()});
        break;
      }
      case pb::PeerEnvelope::kHello: {
        const pb::Hello& h = envelope->hello();
        if (MemberIdFromName(h.name()) != from) {
          spdlog::warn("server: hello from member {} names '{}', whose id differs", from, h.name());
          return;
        }
        members_.OnHello(from, h, raft_->GetStatus().leader == from);
        break;
      }
      default:
        break;
    }
  });
}

void Service::OnForwardRequest(raft::NodeId from, const pb::ForwardRequest& forward) {
  const uint64_t fid = forward.forward_id();
  auto reply = [this, from, fid](Outcome o) {
    pb::PeerEnvelope envelope;
    envelope.mutable_reply()->set_forward_id(fid);
    *envelope.mutable_reply()->mutable_response() = std::move(o.response);
    envelope.mutable_reply()->set_retryable(o.retryable);
    SendToPeer(from, &envelope);
  };
  const Request& request = forward.request();
  if (!IsWrite(request.body_case()) && !IsMembership(request.body_case())) {
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
  SubmitLeaderOnly(request, deadline, true, reply);
}

void Service::OnSessionsExpired(const std::vector<int64_t>& ids) {
  metrics_->CountSessionExpired(ids.size());
  pushes_.PushSessionsExpired(ids);
}

void Service::OnTick() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
  }
  const auto now = Clock::now();
  const raft::NodeStatus st = raft_->GetStatus();
  const bool is_leader = st.raft.role == raft::Role::kLeader && st.error.ok();
  {
    std::lock_guard lock(mu_);
    if (st.leader != last_leader_) {
      if (st.leader != raft::kNoNode) metrics_->CountLeaderChange();
      last_leader_ = st.leader;
    }
  }
  duties_->Tick(is_leader, now);

  // Forwards whose deadline passed, or whose leader is no longer the leader (it
  // will likely never answer: fail now rather than at the deadline; the request
  // may or may not have been applied, as with any lost reply).
  ForwardTable::Swept swept = forwards_.Sweep(now, st.leader);
  bool hello = false, progress = false;
  {
    std::lock_guard lock(mu_);
    if (now >= next_hello_) {
      hello = true;
      next_hello_ = now + kHelloInterval;
    }
    if (now >= next_progress_) {
      progress = true;
      next_progress_ = now + kProgressInterval;
    }
  }
  for (Done& d : swept.expired) {
    d(ErrorOutcome(0, OutcomeUnknown("the leader did not answer before the deadline")));
  }
  for (Done& d : swept.orphaned) {
    d(ErrorOutcome(0, OutcomeUnknown("leadership changed while the request was in flight")));
  }
  if (hello) {
    pb::PeerEnvelope envelope;
    *envelope.mutable_hello() = members_.MakeHello();
    envelope.set_sent_us(PeerClock::NowMicros());
    const std::string payload = envelope.SerializeAsString();
    for (auto ids : {st.raft.conf_state.voters(), st.raft.conf_state.learners()}) {
      for (uint64_t id : ids) {
        if (id != options_.member_id) raft_->SendApp(id, payload);
      }
    }
  }
  if (progress) {
    // Under the state lock: no event newer than this revision can be dispatched
    // between reading it and queueing the notification.
    adapter_->Read([this](const StateMachine& sm) {
      hub_->NotifyProgress(sm.revision());
      return 0;
    });
  }

  std::lock_guard lock(mu_);
  if (stopped_) return;
  timer_.expires_after(options_.tick);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) OnTick();
  });
}

}  // namespace coord::server
