// StockStore: the inventory service's own durable store (LevelDB), updated
// idempotently by order id.
//
// Layout: "stock/<item>" -> units on hand (decimal); "res/<order>" -> "<item>
// <qty>" for every order whose units are reserved; "applied_revision" -> the
// highest Coord revision of an event applied (orders created at or before it
// must have a reservation — what the reconciler checks). Each change is one
// synchronous WriteBatch, so a kill -9 leaves either all of it or none.
//
// Thread-safety: thread-safe (one mutex; the consumer and the reconciler share it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "coord/status.h"

namespace leveldb {
class DB;
}

namespace inventory {

struct Reservation {
  std::string item;
  int64_t qty = 0;
};

class StockStore {
 public:
  // Opens (creating with `initial` units of each of `items` items) the store in `dir`.
  static coord::Result<std::unique_ptr<StockStore>> Open(const std::string& dir, int items,
                                                         int64_t initial);
  ~StockStore();

  // Reserves the order's units once: a repeated call for the same order changes
  // nothing and returns false. `revision` raises applied_revision.
  coord::Result<bool> Reserve(const std::string& order, const Reservation& r, int64_t revision);
  // Drops the order's reservation and returns its units (false: none held).
  // applied_revision is unchanged, so releasing a live order's reservation is
  // exactly the drift the reconciler must repair (the demo's "lost update").
  coord::Result<bool> Release(const std::string& order);

  std::map<std::string, int64_t> Stock() const;
  std::map<std::string, Reservation> Reservations() const;
  int64_t applied_revision() const;

  static std::string ItemName(int i) { return "sku-" + std::to_string(i); }

 private:
  explicit StockStore(std::unique_ptr<leveldb::DB> db);
  int64_t ReadNumber(const std::string& key) const;

  mutable std::mutex mu_;
  std::unique_ptr<leveldb::DB> db_;
};

// "<item> <qty>" <-> Reservation.
std::string EncodeReservation(const Reservation& r);
std::optional<Reservation> DecodeReservation(const std::string& text);

}  // namespace inventory
