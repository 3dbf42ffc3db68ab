// coord::Transaction: the coordinator side of a 2PC transaction run by the Coord
// ensemble (docs/decisions.md D29-D31).
//
//   auto txn = coord::Transaction::Begin(*client, {"inventory", "billing"}, "order 7",
//                                        std::chrono::seconds(10));
//   auto outcome = (*txn)->Await(std::chrono::seconds(15));
//   if (outcome.ok() && outcome->state == coord::v1::TPC_COMMITTED) ...
//
// The ensemble sends each participant a prepare, collects the votes and decides:
// all YES -> COMMITTED; any NO or the transaction timeout -> ABORTED (presumed
// abort). The decision is replicated before anyone is told, so the coordinator
// (this object) can crash at any time: another process can Await the same id.
//
// Await watches the mirror key "/_coord/txn/<20-digit id>" from the revision of the
// begin, so it sees the decision even if the transaction is forgotten (deleted)
// right after; if that history was compacted it falls back to tpc_get.
//
// Thread-safety: all methods are thread-safe. Must not outlive its Client.
// Status: new (phase 2); may change a little.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coord.pb.h"
#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

class Transaction {
 public:
  using Duration = std::chrono::milliseconds;

  struct Outcome {
    uint64_t txn_id = 0;
    coord::v1::TpcState state = coord::v1::TPC_STATE_UNKNOWN;  // COMMITTED or ABORTED
    std::string reason;  // ABORTED: "vote NO by <name>", "timeout" (when still known)
  };

  // Begins a transaction (an exactly-once write). `txn_timeout`: how long the
  // ensemble waits for the votes (0 = its default 30 s; clamped to [1 s, 1 h]).
  // Errors: kInvalidArgument (no / duplicate / empty participant names), kTooLarge,
  // call errors.
  static Result<std::unique_ptr<Transaction>> Begin(Client& client,
                                                    std::vector<std::string> participants,
                                                    std::string payload,
                                                    Duration txn_timeout = Duration(0),
                                                    Duration call_timeout = Duration(0));
  // An existing transaction (e.g. begun by a coordinator that crashed).
  // `begin_revision` 0: Await polls/watches from now (a decision that is already
  // forgotten then answers kNotFound).
  static std::unique_ptr<Transaction> Attach(Client& client, uint64_t txn_id,
                                             int64_t begin_revision = 0);

  uint64_t id() const { return id_; }
  // The vote timeout after clamping (0 for Attach).
  Duration txn_timeout() const { return txn_timeout_; }
  // The store revision of the begin (the mirror key's creation).
  int64_t begin_revision() const { return begin_revision_; }

  // Waits for the decision. Errors: kTimeout (not decided in time), kNotFound
  // (forgotten and its decision no longer visible), call errors.
  Result<Outcome> Await(Duration timeout);

  // The 20-digit mirror key of a transaction id.
  static std::string MirrorKey(uint64_t txn_id);
  // tpc_get. Errors: kNotFound (unknown or forgotten), call errors.
  static Result<coord::v1::TpcTxnInfo> Get(Client& client, uint64_t txn_id,
                                           Duration timeout = Duration(0));

 private:
  Transaction(Client& client, uint64_t id, Duration txn_timeout, int64_t begin_revision)
      : client_(client), id_(id), txn_timeout_(txn_timeout), begin_revision_(begin_revision) {}

  Client& client_;
  const uint64_t id_;
  const Duration txn_timeout_;
  const int64_t begin_revision_;
};

}  // namespace coord
