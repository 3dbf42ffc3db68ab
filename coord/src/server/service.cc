#include "server/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <iterator>
#include <sstream>

#include "server/codec.h"
#include "wire_rules.h"

namespace coord::server {
namespace {

using coord::v1::Request;
using coord::v1::Response;
using coord::v1::ServerMessage;

constexpr auto kHelloInterval = std::chrono::milliseconds(500);
constexpr auto kProgressInterval = std::chrono::milliseconds(1000);

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
               MemberInfo{options_.name, options_.peer_address, options_.client_address}),
      router_(RequestRouterOptions{options_.member_id, options_.max_response_bytes}, io, &members_,
              metrics,
              [this](const Request& request, const std::string& user, Clock::time_point deadline,
                     Done done) { ProposeMembership(request, user, deadline, std::move(done)); }) {}

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
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    timer_.cancel();
  }
  // A password hash still running would finish into the node, which the server
  // stops next: wait for it here (queued hashes are dropped).
  hash_pool_.stop();
  hash_pool_.join();
}

void Service::Handle(const std::shared_ptr<ClientSink>& sink, Request request, bool text) {
  metrics_->CountRequest(RequestTypeName(request));
  const auto timeout = request.timeout_ms() > 0 ? std::chrono::milliseconds(request.timeout_ms())
                                                : options_.default_timeout;
  const auto deadline = Clock::now() + timeout;
  switch (request.body_case()) {
    case Request::kAuthenticate:
      Authenticate(sink, request, text, deadline);
      return;
    case Request::kAuthStatus:
      PushResponse(*sink, AuthStatus(*sink, request), text);
      return;
    default:
      break;
  }
  Admit(sink, std::move(request), text, deadline, std::nullopt);
}

void Service::Admit(const std::shared_ptr<ClientSink>& sink, Request request, bool text,
                    Clock::time_point deadline, std::optional<Status> refused_before) {
  // Who sends it, and may they: checked here for a quick answer; reads are
  // checked again when served, writes when applied.
  std::string user;
  Status allowed = adapter_->Read([&](const StateMachine& sm) {
    Result<std::string> caller = CallerOf(*sink, sm);
    if (!caller.ok()) {
      // An ended login still lets a connection ask what needs none.
      return sm.Authorize("", request).ok() ? Status::Ok() : caller.status();
    }
    user = *caller;
    return sm.Authorize(user, request);
  });
  if (allowed.ok()) {
    if (PrepareAuthWrite(sink, request, user, text, deadline)) return;
    Route(sink, request, user, text, deadline);
    return;
  }
  // The first answer says more when both refuse alike: a token offered at the
  // upgrade is checked once, so the second look sees an anonymous connection.
  if (refused_before && refused_before->code() == allowed.code()) allowed = *refused_before;
  auto refuse = [this, sink, text, id = request.id(), type = RequestTypeName(request),
                 allowed] {
    metrics_->CountAuthRefusal(allowed.code() == StatusCode::kPermissionDenied);
    metrics_->CountError(type, coord::v1::ErrorCode_Name(ApiError(allowed, "").code()));
    Response r;
    r.set_id(id);
    *r.mutable_error() = ApiError(allowed, "");
    PushResponse(*sink, std::move(r), text);
  };
  if (refused_before) {
    refuse();
    return;
  }
  // This member may not have applied an auth change already acknowledged
  // elsewhere (a grant, `auth disable`): refuse only once it has caught up
  // with every committed write, so no acknowledged change is contradicted.
  // Without a read point the local answer stands; it is still "not applied".
  router_.AfterReadIndex(
      request.id(), deadline,
      [this, sink, request, text, deadline, allowed] {
        Admit(sink, request, text, deadline, allowed);
      },
      [refuse](Outcome) { refuse(); });
}

void Service::Route(const std::shared_ptr<ClientSink>& sink, const Request& request,
                    const std::string& user, bool text, Clock::time_point deadline) {
  const uint64_t id = request.id();
  const std::string type = RequestTypeName(request);
  auto deliver = [this, type, id](Response response) {
    response.set_id(id);
    router_.BoundReplySize(&response, false);  // a write's reply is bounded where it was applied
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
  auto read = [this, &request, &user, deadline, push] {
    LinearizableRead(request, user, deadline, [push](Outcome o) { push(std::move(o.response)); });
  };
  if (body == Request::kTxn && StateMachine::IsReadOnlyTxn(request.txn())) {
    // Nothing to replicate: served here after a ReadIndex, like a range.
    read();
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
  if (IsLeaderOnlyRequest(body)) {
    const uint64_t slot = sink->Reserve();
    router_.Submit(request, user, deadline, [this, sink, text, slot, deliver, request](Outcome o) {
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
        push(LocalRead(request, user));
      } else {
        read();
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
    case Request::kUserList:
    case Request::kRoleList:
      read();
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
      router_.FillHeader(&r);
      push(std::move(r));
      return;
    }
    case Request::kWatchCreate: {
      Response header_holder;
      router_.FillHeader(&header_holder);
      // The hub queues the reply and the catch-up itself, under the state lock.
      adapter_->Read([&](const StateMachine& sm) {
        hub_->Create(sink, id, request.watch_create(), text, sm, header_holder.header(), user);
        return 0;
      });
      return;
    }
    case Request::kWatchCancel: {
      Response r;
      if (hub_->Cancel(sink->connection_id(), request.watch_cancel().watch_id())) {
        r.mutable_watch_cancel();
        router_.FillHeader(&r);
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

void Service::LinearizableRead(const Request& request, const std::string& user,
                               Clock::time_point deadline, Done done) {
  router_.AfterReadIndex(
      request.id(), deadline,
      [this, request, user, done] { done(Outcome{LocalRead(request, user), false}); }, done);
}

void Service::AfterReadIndex(const std::shared_ptr<ClientSink>& sink, const Request& request,
                             bool text, Clock::time_point deadline, std::function<void()> f) {
  router_.AfterReadIndex(request.id(), deadline, std::move(f), [sink, text](Outcome o) {
    ServerMessage m;
    *m.mutable_response() = std::move(o.response);
    sink->Push(m, text);
  });
}

Response Service::LocalRead(const Request& request, const std::string& user) const {
  Response r = adapter_->Read([&](const StateMachine& sm) {
    if (const Status allowed = sm.Authorize(user, request); !allowed.ok()) {
      metrics_->CountAuthRefusal(allowed.code() == StatusCode::kPermissionDenied);
      Response denied;
      *denied.mutable_error() = ApiError(allowed, "");
      return denied;
    }
    switch (request.body_case()) {
      case Request::kUserList: {
        Response out;
        *out.mutable_user_list() = sm.ListUsers(request.user_list().name());
        out.mutable_header()->set_revision(sm.revision());
        return out;
      }
      case Request::kRoleList: {
        Response out;
        *out.mutable_role_list() = sm.ListRoles(request.role_list().name());
        out.mutable_header()->set_revision(sm.revision());
        return out;
      }
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
  router_.FillHeader(&r);
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
  router_.ObservePeerClock(from, envelope->sent_us(), received);
  boost::asio::post(peer_strand_, [this, from, envelope] {
    switch (envelope->kind_case()) {
      case pb::PeerEnvelope::kForward:
        router_.OnForwardRequest(from, envelope->forward());
        break;
      case pb::PeerEnvelope::kReply:
        router_.OnForwardReply(envelope->reply());
        break;
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

  router_.Sweep(now, st.leader);
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
