// Put, delete, range, compaction and watch catch-up on the key space.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "state/state_machine_impl.h"

namespace coord::server {

namespace {

// Digits of the sequential suffix: enough for every uint64_t.
constexpr size_t kSequenceDigits = 20;

Status SessionExpired(int64_t id) {
  return Status(StatusCode::kSessionExpired,
                "session " + std::to_string(id) + " does not exist or has ended");
}

}  // namespace

std::string StateMachine::Impl::PadSequence(uint64_t n) {
  char buf[kSequenceDigits + 1];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64, n);
  return std::string(buf, kSequenceDigits);
}

Status StateMachine::Impl::CheckKey(std::string_view key) const {
  if (key.size() > options_.max_key_bytes) {
    return Status::TooLarge("key of " + std::to_string(key.size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(options_.max_key_bytes));
  }
  return Status::Ok();
}

Status StateMachine::Impl::ValidatePut(const coord::v1::PutRequest& put) const {
  if (put.sequential()) {
    // The key is a prefix here; the stored key adds the 20-digit suffix.
    if (put.key().size() + kSequenceDigits > options_.max_key_bytes) {
      return Status::TooLarge("sequential key prefix of " + std::to_string(put.key().size()) +
                              " bytes leaves no room for the suffix within the key limit of " +
                              std::to_string(options_.max_key_bytes));
    }
  } else {
    if (put.key().empty()) return Status::InvalidArgument("key must not be empty");
    COORD_RETURN_IF_ERROR(CheckKey(put.key()));
  }
  if (put.value().size() > options_.max_value_bytes) {
    return Status::TooLarge("value of " + std::to_string(put.value().size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(options_.max_value_bytes));
  }
  if (put.session() < 0) return Status::InvalidArgument("session id must not be negative");
  if (put.session() != 0 && sessions_.Find(put.session()) == nullptr) {
    return SessionExpired(put.session());
  }
  return Status::Ok();
}

Status StateMachine::Impl::ValidateRange(const coord::v1::RangeRequest& range) const {
  COORD_RETURN_IF_ERROR(CheckKey(range.key()));
  Result<KeyRange> r = MakeKeyRange(range.key(), range.range_end(), range.prefix());
  if (!r.ok()) return r.status();
  if (range.limit() < 0) return Status::InvalidArgument("limit must not be negative");
  if (range.revision() < 0) return Status::InvalidArgument("revision must not be negative");
  if (range.revision() > keys_.revision()) {
    return Status::InvalidArgument("revision " + std::to_string(range.revision()) +
                                   " is in the future (current " +
                                   std::to_string(keys_.revision()) + ")");
  }
  if (range.revision() != 0 && range.revision() <= keys_.compacted_revision()) {
    return Status::Compacted("revision " + std::to_string(range.revision()) +
                             " has been compacted (compacted revision " +
                             std::to_string(keys_.compacted_revision()) + ")");
  }
  return Status::Ok();
}

Status StateMachine::Impl::ValidateDelete(const coord::v1::DeleteRequest& del) const {
  COORD_RETURN_IF_ERROR(CheckKey(del.key()));
  Result<KeyRange> r = MakeKeyRange(del.key(), del.range_end(), del.prefix());
  return r.ok() ? Status::Ok() : r.status();
}

coord::v1::PutResponse StateMachine::Impl::ExecPut(const coord::v1::PutRequest& put,
                                                   int64_t revision) {
  std::string key = put.key();
  if (put.sequential()) {
    uint64_t counter = keys_.SequenceCounter(put.key());
    key = NextSequentialKey(put.key(), &counter,
                            [this](const std::string& k) { return keys_.Get(k) != nullptr; });
    keys_.SetSequenceCounter(put.key(), counter);
  }
  std::optional<KeyVersion> prev = keys_.Put(key, put.value(), put.session(), revision);
  // Ownership follows the latest version: a put moves the key to its new session
  // (or makes it persistent with session 0).
  if (prev && prev->session != 0 && prev->session != put.session()) {
    sessions_.RemoveKey(prev->session, key);
  }
  if (put.session() != 0) sessions_.AddKey(put.session(), key);

  coord::v1::PutResponse out;
  out.set_key(key);
  out.set_revision(revision);
  if (put.prev_kv() && prev) *out.mutable_prev_kv() = ToKeyValue(key, *prev);
  return out;
}

bool StateMachine::Impl::DeleteKey(const std::string& key, int64_t revision) {
  std::optional<KeyVersion> prev = keys_.Delete(key, revision);
  if (!prev) return false;
  if (prev->session != 0) sessions_.RemoveKey(prev->session, key);
  return true;
}

coord::v1::DeleteResponse StateMachine::Impl::ExecDelete(const coord::v1::DeleteRequest& del,
                                                         int64_t revision) {
  KeyRange range = *MakeKeyRange(del.key(), del.range_end(), del.prefix());
  coord::v1::DeleteResponse out;
  // Collect first: deleting while iterating would invalidate the walk.
  std::vector<std::string> victims;
  keys_.ForEach(range, 0, [&](const std::string& key, const KeyVersion& v) {
    victims.push_back(key);
    if (del.prev_kv()) *out.add_prev_kvs() = ToKeyValue(key, v);
    return true;
  });
  for (const std::string& key : victims) DeleteKey(key, revision);
  out.set_deleted(static_cast<int64_t>(victims.size()));
  out.set_revision(victims.empty() ? keys_.revision() : revision);
  return out;
}

coord::v1::RangeResponse StateMachine::Impl::ExecRange(const coord::v1::RangeRequest& request,
                                                       ReadBudget* budget) const {
  // Per key: the key, the value and about this much framing and numbers.
  constexpr size_t kKeyValueOverhead = 48;
  KeyRange range = *MakeKeyRange(request.key(), request.range_end(), request.prefix());
  coord::v1::RangeResponse out;
  int64_t count = 0;
  keys_.ForEach(range, request.revision(), [&](const std::string& key, const KeyVersion& v) {
    ++count;
    if (request.count_only()) return true;
    if (request.limit() > 0 && out.kvs_size() >= request.limit()) return true;
    const size_t bytes = key.size() + (request.keys_only() ? 0 : v.value.size()) + kKeyValueOverhead;
    if (budget != nullptr && !budget->Take(bytes)) return false;
    coord::v1::KeyValue* kv = out.add_kvs();
    *kv = ToKeyValue(key, v);
    if (request.keys_only()) kv->clear_value();
    return true;
  });
  out.set_count(count);
  out.set_more(!request.count_only() && request.limit() > 0 && count > request.limit());
  return out;
}

Status StateMachine::Impl::Compact(const coord::v1::CompactRequest& compact) {
  const int64_t target = compact.revision();
  if (target <= 0) return Status::InvalidArgument("compact revision must be positive");
  if (target > keys_.revision()) {
    return Status::InvalidArgument("compact revision " + std::to_string(target) +
                                   " is in the future (current " +
                                   std::to_string(keys_.revision()) + ")");
  }
  if (target <= keys_.compacted_revision()) {
    return Status::Compacted("revision " + std::to_string(target) +
                             " is already compacted (compacted revision " +
                             std::to_string(keys_.compacted_revision()) + ")");
  }
  keys_.Compact(target);
  return Status::Ok();
}

void StateMachine::Impl::AutoCompact() {
  if (options_.history_revisions <= 0) return;
  const int64_t target = keys_.revision() - options_.history_revisions;
  // Runs after every revision, so each call compacts about one revision's events:
  // amortized O(1) per write.
  if (target > keys_.compacted_revision()) keys_.Compact(target);
}

Result<EventBatch> StateMachine::Impl::EventsSince(int64_t start_revision, std::string_view key,
                                                   std::string_view range_end, bool prefix,
                                                   size_t max_events) const {
  if (start_revision < 1) return Status::InvalidArgument("start revision must be >= 1");
  COORD_RETURN_IF_ERROR(CheckKey(key));
  Result<KeyRange> range = MakeKeyRange(key, range_end, prefix);
  if (!range.ok()) return range.status();
  if (start_revision <= keys_.compacted_revision()) {
    return Status::Compacted("start revision " + std::to_string(start_revision) +
                             " has been compacted (compacted revision " +
                             std::to_string(keys_.compacted_revision()) + ")");
  }
  EventBatch batch;
  batch.next_revision = std::max(start_revision, keys_.revision() + 1);
  const auto& log = keys_.events();
  for (size_t i = keys_.FirstEventAt(start_revision); i < log.size(); ++i) {
    const EventRef& e = log[i];
    // Stop at a revision boundary once the batch is full, so no revision is split.
    if (max_events > 0 && batch.events.size() >= max_events &&
        e.revision != batch.events.back().revision) {
      batch.next_revision = e.revision;
      break;
    }
    if (!range->Contains(e.key)) continue;
    batch.events.push_back(StateEvent{e.revision, keys_.MakeEvent(e.key, e.revision)});
  }
  return batch;
}

Result<coord::v1::WatchCreateResponse> StateMachine::Impl::ListForWatch(
    const coord::v1::WatchCreateRequest& request) const {
  COORD_RETURN_IF_ERROR(CheckKey(request.key()));
  Result<KeyRange> range = MakeKeyRange(request.key(), request.range_end(), request.prefix());
  if (!range.ok()) return range.status();
  coord::v1::WatchCreateResponse out;
  out.set_list_revision(keys_.revision());
  if (request.list()) {
    keys_.ForEach(*range, 0, [&](const std::string& key, const KeyVersion& v) {
      *out.add_kvs() = ToKeyValue(key, v);
      return true;
    });
    return out;
  }
  if (request.start_revision() < 0) {
    return Status::InvalidArgument("start revision must not be negative");
  }
  if (request.start_revision() != 0 && request.start_revision() <= keys_.compacted_revision()) {
    return Status::Compacted("start revision " + std::to_string(request.start_revision()) +
                             " has been compacted (compacted revision " +
                             std::to_string(keys_.compacted_revision()) + ")");
  }
  return out;
}

}  // namespace coord::server
