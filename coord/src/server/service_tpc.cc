// Service: 2PC participant subscriptions (tpc_list with subscribe; see service.h).
//
// Every member applies every begin and decision, so a participant may subscribe on
// any member. As for election observers, the reply (the participant's list, read
// under the state lock) and the registration happen under the state lock and the
// push registry's lock, and pushes under the latter after the apply: a change applied before the
// read is in the reply (and may be pushed as well: participants are idempotent by txn id), a change
// applied after it is pushed. Nothing falls between the two.
//
// A decision is pushed only after it is applied, i.e. committed in the log: "the
// decision is replicated before anyone is told".
#include "server/service.h"

namespace coord::server {

void Service::SubscribeParticipant(const std::shared_ptr<ClientSink>& sink,
                                   const coord::v1::Request& request, bool text,
                                   Clock::time_point deadline) {
  AfterReadIndex(sink, request, text, deadline, [this, sink, request, text] {
    coord::v1::Response header;
    router_.FillHeader(&header);
    const std::string& name = request.tpc_list().participant();
    adapter_->Read([&](const StateMachine& sm) {
      coord::v1::Response reply;
      if (name.empty()) {
        reply.mutable_error()->set_code(coord::v1::INVALID_ARGUMENT);
        reply.mutable_error()->set_message("tpc_list with subscribe needs a participant");
      } else {
        reply = sm.TpcList(request.tpc_list());
      }
      reply.set_id(request.id());
      reply.mutable_header()->set_raft_term(header.header().raft_term());
      reply.mutable_header()->set_member_id(header.header().member_id());
      coord::v1::ServerMessage m;
      *m.mutable_response() = reply;
      const bool ok = !reply.has_error() || reply.error().code() == coord::v1::OK;
      pushes_.AddParticipant(sink, text, m, ok, name);
      return 0;
    });
  });
}

}  // namespace coord::server
