// Service: election observers (election_leader with observe; see service.h).
//
// Every member applies every election change, so observing works on followers
// too. Registration and the initial state happen under the state lock and mu_,
// and pushes happen under mu_, so an observer's stream is the reply, the current
// leader, then every later change in apply order. A change applied just before
// registration may be seen twice (in the state and as a push); the per-observer
// `last` drops the repeat.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

#include "server/service.h"

namespace coord::server {

void Service::Observe(const std::shared_ptr<ClientSink>& sink, const coord::v1::Request& request,
                      bool text, Clock::time_point deadline) {
  AfterReadIndex(sink, request, text, deadline, [this, sink, request, text] {
    coord::v1::Response header;
    FillHeader(&header);
    adapter_->Read([&](const StateMachine& sm) {
      coord::v1::Response reply = sm.ElectionLeader(request.election_leader());
      reply.set_id(request.id());
      reply.mutable_header()->set_raft_term(header.header().raft_term());
      reply.mutable_header()->set_member_id(header.header().member_id());
      const bool bad = reply.has_error() && reply.error().code() != coord::v1::NOT_FOUND;
      coord::v1::ElectionLeader current;
      if (reply.has_election_leader()) {
        current = reply.election_leader().leader();
      } else {
        current.set_name(request.election_leader().name());  // no leader now
      }
      std::lock_guard lock(mu_);
      coord::v1::ServerMessage m;
      *m.mutable_response() = reply;
      sink->Push(m, text);
      if (bad) return 0;  // e.g. an empty name: nothing to observe
      coord::v1::ServerMessage first;
      *first.mutable_election() = current;
      sink->Push(first, text);
      observers_[current.name()].push_back(
          ElectionObserver{sink, sink->connection_id(), text, current});
      return 0;
    });
  });
}

coord::v1::Response Service::Unobserve(uint64_t connection_id, const coord::v1::Request& request) {
  const std::string& name = request.election_leader().name();
  coord::v1::Response r;
  {
    std::lock_guard lock(mu_);
    auto it = observers_.find(name);
    bool found = false;
    if (it != observers_.end()) {
      auto& list = it->second;
      auto o = std::find_if(list.begin(), list.end(), [&](const ElectionObserver& x) {
        return x.connection_id == connection_id;
      });
      if (o != list.end()) {
        list.erase(o);
        found = true;
      }
      if (list.empty()) observers_.erase(it);
    }
    if (!found) {
      r.mutable_error()->set_code(coord::v1::NOT_FOUND);
      r.mutable_error()->set_message("this connection does not observe election \"" + name + "\"");
    } else {
      r.mutable_election_leader();
    }
  }
  r.set_id(request.id());
  FillHeader(&r);
  return r;
}

void Service::PushElectionChanges(const std::vector<ElectionChange>& changes) {
  std::lock_guard lock(mu_);
  for (const ElectionChange& c : changes) {
    auto it = observers_.find(c.name);
    if (it == observers_.end()) continue;
    coord::v1::ElectionLeader event;
    event.set_name(c.name);
    event.set_session(c.session);
    event.set_value(c.value);
    event.set_term(c.term);
    coord::v1::ServerMessage m;
    *m.mutable_election() = event;
    auto& list = it->second;
    for (auto o = list.begin(); o != list.end();) {
      auto sink = o->sink.lock();
      if (!sink) {
        o = list.erase(o);
        continue;
      }
      if (!google::protobuf::util::MessageDifferencer::Equals(o->last, event)) {
        o->last = event;
        sink->Push(m, o->text);
      }
      ++o;
    }
    if (list.empty()) observers_.erase(it);
  }
}

}  // namespace coord::server
