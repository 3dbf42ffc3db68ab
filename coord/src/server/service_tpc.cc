// Service: 2PC participant subscriptions (tpc_list with subscribe; see service.h).
//
// Every member applies every begin and decision, so a participant may subscribe on
// any member. As for election observers, the reply (the participant's list, read
// under the state lock) and the registration happen under the state lock and mu_,
// and pushes happen under mu_ after the apply: a change applied before the read is
// in the reply (and may be pushed as well: participants are idempotent by txn id),
// a change applied after it is pushed. Nothing falls between the two.
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
    FillHeader(&header);
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
      std::lock_guard lock(mu_);
      coord::v1::ServerMessage m;
      *m.mutable_response() = reply;
      sink->Push(m, text);
      if (reply.has_error() && reply.error().code() != coord::v1::OK) return 0;
      participants_[name].push_back(ParticipantSink{sink, sink->connection_id(), text});
      return 0;
    });
  });
}

void Service::PushTpcEvents(const ApplyResult& result) {
  std::lock_guard lock(mu_);
  if (participants_.empty()) return;
  auto push = [&](const std::string& participant, coord::v1::TpcEvent event) {
    auto it = participants_.find(participant);
    if (it == participants_.end()) return;
    event.set_participant(participant);
    coord::v1::ServerMessage m;
    *m.mutable_tpc() = std::move(event);
    auto& list = it->second;
    for (auto p = list.begin(); p != list.end();) {
      auto sink = p->sink.lock();
      if (!sink) {
        p = list.erase(p);
        continue;
      }
      sink->Push(m, p->text);
      ++p;
    }
    if (list.empty()) participants_.erase(it);
  };
  for (const TpcPrepare& prepare : result.tpc_prepares) {
    coord::v1::TpcEvent event;
    event.set_txn_id(prepare.txn_id);
    event.set_state(coord::v1::TPC_PREPARING);
    event.set_payload(prepare.payload);
    for (const std::string& p : prepare.participants) push(p, event);
  }
  for (const TpcDecision& decision : result.tpc_decisions) {
    coord::v1::TpcEvent event;
    event.set_txn_id(decision.txn_id);
    event.set_state(decision.state);
    event.set_reason(decision.reason);
    for (const std::string& p : decision.participants) push(p, event);
  }
}

}  // namespace coord::server
