#include "stock_store.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <sstream>

namespace inventory {

namespace {

constexpr char kStock[] = "stock/";
constexpr char kRes[] = "res/";
constexpr char kApplied[] = "applied_revision";

coord::Status FromLevelDb(const leveldb::Status& s) {
  return coord::Status::IOError("stock store: " + s.ToString());
}

}  // namespace

std::string EncodeReservation(const Reservation& r) {
  return r.item + " " + std::to_string(r.qty);
}

std::optional<Reservation> DecodeReservation(const std::string& text) {
  std::istringstream in(text);
  Reservation r;
  if (!(in >> r.item >> r.qty) || r.qty <= 0) return std::nullopt;
  return r;
}

coord::Result<std::unique_ptr<StockStore>> StockStore::Open(const std::string& dir, int items,
                                                            int64_t initial) {
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) return FromLevelDb(s);
  std::unique_ptr<StockStore> store(new StockStore(std::unique_ptr<leveldb::DB>(raw)));
  std::string ignored;
  if (store->db_->Get(leveldb::ReadOptions(), kApplied, &ignored).IsNotFound()) {
    leveldb::WriteBatch batch;
    for (int i = 0; i < items; ++i) batch.Put(kStock + ItemName(i), std::to_string(initial));
    batch.Put(kApplied, "0");
    leveldb::WriteOptions sync;
    sync.sync = true;
    s = store->db_->Write(sync, &batch);
    if (!s.ok()) return FromLevelDb(s);
  }
  return store;
}

StockStore::StockStore(std::unique_ptr<leveldb::DB> db) : db_(std::move(db)) {}
StockStore::~StockStore() = default;

int64_t StockStore::ReadNumber(const std::string& key) const {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), key, &v).ok()) return 0;
  return std::stoll(v);
}

coord::Result<bool> StockStore::Reserve(const std::string& order, const Reservation& r,
                                        int64_t revision) {
  std::lock_guard lock(mu_);
  std::string held;
  const bool already = db_->Get(leveldb::ReadOptions(), kRes + order, &held).ok();
  leveldb::WriteBatch batch;
  if (!already) {
    batch.Put(kRes + order, EncodeReservation(r));
    batch.Put(kStock + r.item, std::to_string(ReadNumber(kStock + r.item) - r.qty));
  }
  if (revision > ReadNumber(kApplied)) batch.Put(kApplied, std::to_string(revision));
  leveldb::WriteOptions sync;
  sync.sync = true;
  leveldb::Status s = db_->Write(sync, &batch);
  if (!s.ok()) return FromLevelDb(s);
  return !already;
}

coord::Result<bool> StockStore::Release(const std::string& order) {
  std::lock_guard lock(mu_);
  std::string held;
  if (!db_->Get(leveldb::ReadOptions(), kRes + order, &held).ok()) return false;
  std::optional<Reservation> r = DecodeReservation(held);
  if (!r) return coord::Status::Corruption("stock store: reservation of " + order + " is garbled");
  leveldb::WriteBatch batch;
  batch.Delete(kRes + order);
  batch.Put(kStock + r->item, std::to_string(ReadNumber(kStock + r->item) + r->qty));
  leveldb::WriteOptions sync;
  sync.sync = true;
  leveldb::Status s = db_->Write(sync, &batch);
  if (!s.ok()) return FromLevelDb(s);
  return true;
}

std::map<std::string, int64_t> StockStore::Stock() const {
  std::lock_guard lock(mu_);
  std::map<std::string, int64_t> out;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(kStock); it->Valid() && it->key().starts_with(kStock); it->Next()) {
    out[it->key().ToString().substr(sizeof kStock - 1)] = std::stoll(it->value().ToString());
  }
  return out;
}

std::map<std::string, Reservation> StockStore::Reservations() const {
  std::lock_guard lock(mu_);
  std::map<std::string, Reservation> out;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(kRes); it->Valid() && it->key().starts_with(kRes); it->Next()) {
    if (auto r = DecodeReservation(it->value().ToString())) {
      out[it->key().ToString().substr(sizeof kRes - 1)] = *r;
    }
  }
  return out;
}

int64_t StockStore::applied_revision() const {
  std::lock_guard lock(mu_);
  return ReadNumber(kApplied);
}

}  // namespace inventory
