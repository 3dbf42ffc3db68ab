// Topics (the outbox): appends inside a txn, reads from an offset, and the
// compare-and-set of consumer offsets.
//
// A topic's records are ordinary keys: topic + the 20-digit sequential suffix. An
// append is a sequential put, so it shares the per-prefix counter (kept in the
// snapshot, never decreased): offsets increase and are never reused, even after
// records are deleted. Zero padding makes key order equal offset order, so a read
// from an offset is one ordered scan.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/key_range.h"
#include "state/state_machine_impl.h"

namespace coord::server {

namespace {

constexpr size_t kOffsetDigits = 20;
constexpr char kOffsetKeyPrefix[] = "/_coord/offsets/";
// Records one trim deletes at most: bounds the work of one apply and the size of
// the watch event batch it produces.
constexpr int64_t kMaxTrimRecords = 10'000;

// A non-negative decimal without sign or spaces that fits int64_t.
std::optional<int64_t> ParseOffset(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (n > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// The offset of a record key's suffix: exactly kOffsetDigits digits.
std::optional<int64_t> RecordOffset(std::string_view suffix) {
  if (suffix.size() != kOffsetDigits) return std::nullopt;
  uint64_t n = 0;
  for (char c : suffix) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n > (static_cast<uint64_t>(INT64_MAX) - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return static_cast<int64_t>(n);
}

Status CheckTopic(const std::string& topic, size_t max_key_bytes) {
  if (topic.empty()) return Status::InvalidArgument("topic must not be empty");
  if (topic.size() + kOffsetDigits > max_key_bytes) {
    return Status::TooLarge("topic of " + std::to_string(topic.size()) +
                            " bytes leaves no room for the offset within the key limit of " +
                            std::to_string(max_key_bytes));
  }
  return Status::Ok();
}

}  // namespace

coord::v1::PutRequest StateMachine::Impl::AppendAsPut(const coord::v1::AppendRequest& append) {
  coord::v1::PutRequest put;
  put.set_key(append.topic());
  put.set_value(append.value());
  put.set_sequential(true);
  return put;
}

Status StateMachine::Impl::ValidateAppend(const coord::v1::AppendRequest& append) const {
  // What ValidatePut checks for a sequential put without a session, without
  // copying the value.
  COORD_RETURN_IF_ERROR(CheckTopic(append.topic(), options_.max_key_bytes));
  if (append.value().size() > options_.max_value_bytes) {
    return Status::TooLarge("value of " + std::to_string(append.value().size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(options_.max_value_bytes));
  }
  return Status::Ok();
}

coord::v1::AppendResponse StateMachine::Impl::ExecAppend(const coord::v1::AppendRequest& append,
                                                         int64_t revision) {
  coord::v1::PutResponse put = ExecPut(AppendAsPut(append), revision);
  coord::v1::AppendResponse out;
  out.set_key(put.key());
  // ExecPut left the topic's counter at the number it used.
  out.set_offset(static_cast<int64_t>(keys_.SequenceCounter(append.topic())));
  out.set_revision(revision);
  return out;
}

Result<coord::v1::TopicReadResponse> StateMachine::Impl::TopicRead(
    const coord::v1::TopicReadRequest& req) const {
  COORD_RETURN_IF_ERROR(CheckTopic(req.topic(), options_.max_key_bytes));
  if (req.from_offset() < 0) return Status::InvalidArgument("from_offset must not be negative");
  if (req.limit() < 0) return Status::InvalidArgument("limit must not be negative");
  const std::string& topic = req.topic();
  const int64_t last = static_cast<int64_t>(keys_.SequenceCounter(topic));
  const int64_t from = std::max<int64_t>(req.from_offset(), 1);

  coord::v1::TopicReadResponse out;
  out.set_last_offset(last);
  // Record keys lie in [topic + "0...0", topic + ":"): ':' follows '9'.
  KeyRange range;
  range.begin = topic + PadSequence(static_cast<uint64_t>(from));
  range.end = topic + ":";
  keys_.ForEach(range, 0, [&](const std::string& key, const KeyVersion& v) {
    std::optional<int64_t> offset = RecordOffset(std::string_view(key).substr(topic.size()));
    if (!offset) return true;  // another key under the prefix, not a record
    if (req.limit() != 0 && out.records_size() == req.limit()) {
      out.set_more(true);
      return false;
    }
    coord::v1::TopicRecord* r = out.add_records();
    r->set_offset(*offset);
    r->set_key(key);
    r->set_value(v.value);
    r->set_revision(v.revision);
    return true;
  });
  if (out.records_size() > 0) {
    const int64_t first = out.records(0).offset();
    out.set_next_offset(out.records(out.records_size() - 1).offset() + 1);
    out.set_truncated(req.from_offset() != 0 && first > req.from_offset());
  } else {
    out.set_next_offset(std::max(from, last + 1));
    out.set_truncated(req.from_offset() != 0 && req.from_offset() <= last);
  }
  return out;
}

Status StateMachine::Impl::TopicCommitOffset(const coord::v1::TopicCommitOffsetRequest& req,
                                             coord::v1::TopicCommitOffsetResponse* out) {
  if (req.topic().empty()) return Status::InvalidArgument("topic must not be empty");
  if (req.consumer().empty()) return Status::InvalidArgument("consumer must not be empty");
  if (req.consumer().find('/') != std::string::npos) {
    return Status::InvalidArgument("consumer must not contain '/'");
  }
  if (req.expected() < 0 || req.offset() < 0) {
    return Status::InvalidArgument("offsets must not be negative");
  }
  // The consumer has no '/', so the last '/' of the key separates it from the topic.
  const std::string key = kOffsetKeyPrefix + req.topic() + "/" + req.consumer();
  COORD_RETURN_IF_ERROR(CheckKey(key));
  int64_t current = 0;
  if (const KeyVersion* v = keys_.Get(key)) {
    std::optional<int64_t> parsed = ParseOffset(v->value);
    if (!parsed) {
      return Status::Conflict("offset key \"" + key + "\" does not hold a decimal offset");
    }
    current = *parsed;
  }
  if (current != req.expected()) {
    return Status::Conflict("committed offset of consumer \"" + req.consumer() + "\" on topic \"" +
                            req.topic() + "\" is " + std::to_string(current) + ", not " +
                            std::to_string(req.expected()));
  }
  coord::v1::PutRequest put;
  put.set_key(key);
  put.set_value(std::to_string(req.offset()));
  coord::v1::PutResponse written = ExecPut(put, keys_.revision() + 1);
  out->set_key(key);
  out->set_revision(written.revision());
  return Status::Ok();
}

Status StateMachine::Impl::TopicTrim(const coord::v1::TopicTrimRequest& req,
                                     coord::v1::TopicTrimResponse* out) {
  COORD_RETURN_IF_ERROR(CheckTopic(req.topic(), options_.max_key_bytes));
  if (req.below_offset() < 0 || req.limit() < 0) {
    return Status::InvalidArgument("below_offset and limit must not be negative");
  }
  const std::string& topic = req.topic();
  // The bound: the smallest offset committed by any consumer of this topic (the
  // key's remainder after the prefix has no '/', else it belongs to a longer topic).
  std::optional<int64_t> bound;
  if (req.below_offset() > 0) bound = req.below_offset();
  const std::string offsets_prefix = kOffsetKeyPrefix + topic + "/";
  Status bad = Status::Ok();
  keys_.ForEach(*MakeKeyRange(offsets_prefix, "", true), 0,
                [&](const std::string& key, const KeyVersion& v) {
                  if (key.find('/', offsets_prefix.size()) != std::string::npos) return true;
                  std::optional<int64_t> committed = ParseOffset(v.value);
                  if (!committed) {
                    bad = Status::Conflict("offset key \"" + key + "\" does not hold a decimal offset");
                    return false;
                  }
                  bound = bound ? std::min(*bound, *committed) : *committed;
                  return true;
                });
  COORD_RETURN_IF_ERROR(bad);
  const int64_t limit = req.limit() == 0 ? kMaxTrimRecords : std::min(req.limit(), kMaxTrimRecords);
  const int64_t revision = keys_.revision() + 1;
  std::vector<std::string> victims;
  bool more = false;
  if (bound && *bound > 1) {
    KeyRange range;
    range.begin = topic + PadSequence(1);
    range.end = topic + PadSequence(static_cast<uint64_t>(*bound));
    keys_.ForEach(range, 0, [&](const std::string& key, const KeyVersion&) {
      if (!RecordOffset(std::string_view(key).substr(topic.size()))) return true;
      if (static_cast<int64_t>(victims.size()) == limit) {
        more = true;
        return false;
      }
      victims.push_back(key);
      return true;
    });
  }
  for (const std::string& key : victims) DeleteKey(key, revision);
  out->set_deleted(static_cast<int64_t>(victims.size()));
  out->set_bound(bound.value_or(0));
  out->set_more(more);
  out->set_revision(victims.empty() ? keys_.revision() : revision);
  return Status::Ok();
}

}  // namespace coord::server
