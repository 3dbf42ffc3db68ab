// Service: election observers (election_leader with observe; see service.h).
//
// Every member applies every election change, so observing works on followers
// too. Registration and the initial state happen under the state lock and the
// push registry's lock, and pushes under the latter, so an observer's stream is the
// reply, the current leader, then every later change in apply order. A change applied just before
// registration may be seen twice (in the state and as a push); the per-observer
// `last` drops the repeat.
#include "server/service.h"

namespace coord::server {

void Service::Observe(const std::shared_ptr<ClientSink>& sink, const coord::v1::Request& request,
                      bool text, Clock::time_point deadline) {
  AfterReadIndex(sink, request, text, deadline, [this, sink, request, text] {
    coord::v1::Response header;
    router_.FillHeader(&header);
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
      coord::v1::ServerMessage m;
      *m.mutable_response() = reply;
      pushes_.AddObserver(sink, text, m, !bad, current);  // bad: e.g. an empty name
      return 0;
    });
  });
}

coord::v1::Response Service::Unobserve(uint64_t connection_id, const coord::v1::Request& request) {
  const std::string& name = request.election_leader().name();
  coord::v1::Response r;
  if (pushes_.RemoveObserver(connection_id, name)) {
    r.mutable_election_leader();
  } else {
    r.mutable_error()->set_code(coord::v1::NOT_FOUND);
    r.mutable_error()->set_message("this connection does not observe election \"" + name + "\"");
  }
  r.set_id(request.id());
  router_.FillHeader(&r);
  return r;
}

}  // namespace coord::server
