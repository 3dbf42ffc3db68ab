// AccountStore: one bank's durable ledger (LevelDB) as a 2PC participant,
// idempotent by transaction id.
//
// Layout: "bal/<account>" -> balance; "hold/<txn>" -> "<account> <delta>" for a
// prepared transaction (a debit's funds are already taken out of the balance, so
// they cannot be spent twice; a credit is applied at commit); "done/<txn>" ->
// "C" or "A", the decision applied (or "A" for a NO vote). Each step is one
// synchronous WriteBatch: after a kill -9 it happened entirely or not at all.
//
//   Prepare  done -> vote its outcome again; hold -> YES again; else a debit
//            beyond the balance -> NO (done = A); else hold (+ take the debit) -> YES.
//   Commit   done -> nothing; else apply a held credit, drop the hold, done = C.
//   Abort    done -> nothing; else return a held debit, drop the hold, done = A.
//
// Thread-safety: thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "coord/status.h"

namespace leveldb {
class DB;
}

namespace bank {

struct Leg {
  std::string account;
  int64_t delta = 0;  // negative: a debit
};

class AccountStore {
 public:
  // Opens the store in `dir`; `create`: if missing, with `accounts` accounts of
  // `initial` each (else a missing store is an error).
  static coord::Result<std::unique_ptr<AccountStore>> Open(const std::string& dir, int accounts,
                                                           int64_t initial, bool create = true);
  ~AccountStore();

  coord::Result<bool> Prepare(uint64_t txn, const Leg& leg);  // the vote
  coord::Status Commit(uint64_t txn);
  coord::Status Abort(uint64_t txn);

  struct Summary {
    int64_t total = 0;                   // sum of balances
    std::map<uint64_t, char> decided;    // txn -> 'C' / 'A'
    std::map<uint64_t, Leg> held;        // prepared, undecided
  };
  Summary Summarize() const;

  static std::string AccountName(int i) { return "acct-" + std::to_string(i); }

 private:
  explicit AccountStore(std::unique_ptr<leveldb::DB> db);
  coord::Status Finish(uint64_t txn, bool commit);

  mutable std::mutex mu_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace bank
