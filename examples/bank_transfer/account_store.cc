#include "account_store.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <optional>
#include <sstream>

namespace bank {

namespace {

std::string Key(const char* kind, uint64_t txn) { return std::string(kind) + std::to_string(txn); }

std::optional<Leg> DecodeLeg(const std::string& text) {
  std::istringstream in(text);
  Leg leg;
  if (!(in >> leg.account >> leg.delta)) return std::nullopt;
  return leg;
}

coord::Status Write(leveldb::DB& db, leveldb::WriteBatch& batch) {
  leveldb::WriteOptions sync;
  sync.sync = true;
  leveldb::Status s = db.Write(sync, &batch);
  return s.ok() ? coord::Status::Ok() : coord::Status::IOError("account store: " + s.ToString());
}

int64_t Balance(leveldb::DB& db, const std::string& account) {
  std::string v;
  return db.Get(leveldb::ReadOptions(), "bal/" + account, &v).ok() ? std::stoll(v) : 0;
}

}  // namespace

coord::Result<std::unique_ptr<AccountStore>> AccountStore::Open(const std::string& dir,
                                                                int accounts, int64_t initial,
                                                                bool create) {
  leveldb::Options options;
  options.create_if_missing = create;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) return coord::Status::IOError("account store: " + s.ToString());
  std::unique_ptr<AccountStore> store(new AccountStore(std::unique_ptr<leveldb::DB>(raw)));
  std::string ignored;
  if (store->db_->Get(leveldb::ReadOptions(), "bal/" + AccountName(0), &ignored).IsNotFound()) {
    leveldb::WriteBatch batch;
    for (int i = 0; i < accounts; ++i) batch.Put("bal/" + AccountName(i), std::to_string(initial));
    COORD_RETURN_IF_ERROR(Write(*store->db_, batch));
  }
  return store;
}

AccountStore::AccountStore(std::unique_ptr<leveldb::DB> db) : db_(std::move(db)) {}
AccountStore::~AccountStore() = default;

coord::Result<bool> AccountStore::Prepare(uint64_t txn, const Leg& leg) {
  std::lock_guard lock(mu_);
  std::string v;
  if (db_->Get(leveldb::ReadOptions(), Key("done/", txn), &v).ok()) return v == "C";
  if (db_->Get(leveldb::ReadOptions(), Key("hold/", txn), &v).ok()) return true;
  leveldb::WriteBatch batch;
  const int64_t balance = Balance(*db_, leg.account);
  if (leg.delta < 0 && balance + leg.delta < 0) {
    batch.Put(Key("done/", txn), "A");
    COORD_RETURN_IF_ERROR(Write(*db_, batch));
    return false;
  }
  batch.Put(Key("hold/", txn), leg.account + " " + std::to_string(leg.delta));
  if (leg.delta < 0) batch.Put("bal/" + leg.account, std::to_string(balance + leg.delta));
  COORD_RETURN_IF_ERROR(Write(*db_, batch));
  return true;
}

coord::Status AccountStore::Finish(uint64_t txn, bool commit) {
  std::lock_guard lock(mu_);
  std::string v;
  if (db_->Get(leveldb::ReadOptions(), Key("done/", txn), &v).ok()) return coord::Status::Ok();
  leveldb::WriteBatch batch;
  if (db_->Get(leveldb::ReadOptions(), Key("hold/", txn), &v).ok()) {
    std::optional<Leg> leg = DecodeLeg(v);
    if (!leg) return coord::Status::Corruption("account store: hold of " + std::to_string(txn));
    // Commit applies a credit (the debit left at prepare); abort returns a debit.
    const bool moves = commit ? leg->delta > 0 : leg->delta < 0;
    if (moves) {
      batch.Put("bal/" + leg->account,
                std::to_string(Balance(*db_, leg->account) + (commit ? leg->delta : -leg->delta)));
    }
    batch.Delete(Key("hold/", txn));
  }
  batch.Put(Key("done/", txn), commit ? "C" : "A");
  return Write(*db_, batch);
}

coord::Status AccountStore::Commit(uint64_t txn) { return Finish(txn, true); }
coord::Status AccountStore::Abort(uint64_t txn) { return Finish(txn, false); }

AccountStore::Summary AccountStore::Summarize() const {
  std::lock_guard lock(mu_);
  Summary out;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    const std::string value = it->value().ToString();
    if (key.rfind("bal/", 0) == 0) {
      out.total += std::stoll(value);
    } else if (key.rfind("done/", 0) == 0) {
      out.decided[std::stoull(key.substr(5))] = value.empty() ? '?' : value[0];
    } else if (key.rfind("hold/", 0) == 0) {
      if (auto leg = DecodeLeg(value)) out.held[std::stoull(key.substr(5))] = *leg;
    }
  }
  return out;
}

}  // namespace bank
