// coord::Participant: a named participant of Coord 2PC transactions.
//
//   coord::Participant::Handlers h;
//   h.prepare = [&](uint64_t id, const std::string& payload) { return store.Prepare(id, payload);
//   }; h.commit = [&](uint64_t id) { store.Commit(id); }; h.abort = [&](uint64_t id, const
//   std::string& reason) { store.Abort(id); }; auto p = coord::Participant::Start(*client,
//   "inventory", h);
//
// On start and after every reconnect the participant subscribes (tpc_list with
// subscribe) and RECOVERS: the reply lists every transaction that still needs
// something from it — a prepare it has not voted on (prepare runs, the vote is
// sent), a vote awaiting the decision (nothing to do; the decision will come), a
// decision not acknowledged yet (commit / abort runs, then the acknowledgement).
// Afterwards pushed prepares and decisions are handled the same way.
//
// Callbacks run on the client's executor, one at a time. `prepare` returns the
// vote (true = YES). Within one Participant object each callback runs at most once
// per transaction (idempotent by txn id; repeated events re-send the recorded
// vote / acknowledgement). Across a restart (a new Participant after a crash)
// commit / abort may run again for a transaction whose acknowledgement was lost,
// and prepare again if its vote was lost: the application must apply them
// idempotently by transaction id (at-least-once). A decision can arrive without a
// prepare (the transaction was aborted by timeout before this participant voted).
//
// Thread-safety: thread-safe. Stop() / the destructor wait for a callback in
// progress unless called from one. Must not outlive its Client.
// Status: new (phase 2); may change a little.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class ParticipantState;
}  // namespace client_internal

class Participant {
 public:
  struct Handlers {
    std::function<bool(uint64_t txn_id, const std::string& payload)> prepare;  // required
    std::function<void(uint64_t txn_id)> commit;                               // required
    std::function<void(uint64_t txn_id, const std::string& reason)> abort;     // required
  };

  // Subscribes and waits for the first subscription reply (its recovery list is
  // then being handled on the executor). Errors: kInvalidArgument (empty name,
  // missing handler), call errors.
  static Result<std::unique_ptr<Participant>> Start(
      Client& client, std::string name, Handlers handlers,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  ~Participant();  // Stop()
  Participant(const Participant&) = delete;
  Participant& operator=(const Participant&) = delete;

  // No callback runs after Stop() returns; votes / acks in flight may still land.
  void Stop();

  const std::string& name() const { return name_; }
  // Subscriptions made so far (1 after Start; +1 per reconnect).
  uint64_t subscriptions() const;

 private:
  Participant(std::string name, std::shared_ptr<client_internal::ParticipantState> state);
  const std::string name_;
  std::shared_ptr<client_internal::ParticipantState> state_;
};

}  // namespace coord
