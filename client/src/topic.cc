// coord::Topic: publish through the outbox, read, cursors, lag, trim.
#include "coord/client/topic.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace coord {

using coord::v1::Compare;
using coord::v1::Request;
using coord::v1::TxnOp;

Topic::Topic(Client& client, std::string name) : client_(client), name_(std::move(name)) {}

std::string Topic::CursorKey(const std::string& topic, const std::string& group) {
  return "/_coord/offsets/" + topic + "/" + group;
}

Compare Topic::Absent(const std::string& key) {
  Compare c;
  c.set_key(key);
  c.set_target(Compare::EXISTS);
  c.set_op(Compare::EQUAL);
  c.set_exists(false);
  return c;
}

Compare Topic::ModRevisionIs(const std::string& key, int64_t mod_revision) {
  Compare c;
  c.set_key(key);
  c.set_target(Compare::MOD_REVISION);
  c.set_op(Compare::EQUAL);
  c.set_number(mod_revision);
  return c;
}

Compare Topic::ValueIs(const std::string& key, const std::string& value) {
  Compare c;
  c.set_key(key);
  c.set_target(Compare::VALUE);
  c.set_op(Compare::EQUAL);
  c.set_value(value);
  return c;
}

Result<Topic::Published> Topic::Publish(const std::string& event,
                                        const std::vector<Compare>& compares,
                                        const std::vector<TxnOp>& ops, Duration timeout) const {
  if (name_.empty()) return Status::InvalidArgument("topic name must not be empty");
  coord::v1::TxnRequest txn;
  for (const Compare& c : compares) *txn.add_compare() = c;
  for (const TxnOp& op : ops) *txn.add_success() = op;
  coord::v1::AppendRequest* append = txn.add_success()->mutable_append();
  append->set_topic(name_);
  append->set_value(event);
  auto reply = client_.Txn(txn, timeout);
  if (!reply.ok()) return reply.status();
  if (!reply->succeeded()) {
    return Status::Conflict("a compare of the publish to \"" + name_ +
                            "\" failed: neither the state change nor the event was written");
  }
  const coord::v1::AppendResponse& a = reply->results(reply->results_size() - 1).append();
  return Published{a.offset(), a.revision()};
}

Result<coord::v1::TopicReadResponse> Topic::Read(int64_t from_offset, int64_t limit,
                                                 Duration timeout) const {
  Request request;
  coord::v1::TopicReadRequest* read = request.mutable_topic_read();
  read->set_topic(name_);
  read->set_from_offset(from_offset);
  read->set_limit(limit);
  auto reply = client_.Call(std::move(request), timeout);
  if (!reply.ok()) return reply.status();
  return std::move(*reply->mutable_topic_read());
}

Result<int64_t> Topic::Head(Duration timeout) const {
  // A read from past any offset returns no records, only the head.
  auto read = Read(INT64_MAX, 1, timeout);
  if (!read.ok()) return read.status();
  return read->last_offset();
}

Result<int64_t> Topic::Cursor(const std::string& group, Duration timeout) const {
  auto kv = client_.Get(CursorKey(name_, group), timeout);
  if (!kv.ok()) return kv.status();
  if (!kv->has_value()) return int64_t{0};
  return ParseCursor(CursorKey(name_, group), (*kv)->value());
}

Result<int64_t> Topic::ParseCursor(const std::string& key, const std::string& value) {
  int64_t cursor = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), cursor);
  if (ec != std::errc() || end != value.data() + value.size() || cursor < 0) {
    return Status::Conflict("cursor key \"" + key + "\" does not hold a decimal offset");
  }
  return cursor;
}

Result<int64_t> Topic::Lag(const std::string& group, Duration timeout) const {
  auto cursor = Cursor(group, timeout);
  if (!cursor.ok()) return cursor.status();
  auto head = Head(timeout);
  if (!head.ok()) return head.status();
  if (*cursor == 0) return *head;
  return std::max<int64_t>(0, *head - *cursor + 1);
}

Result<int64_t> Topic::Trim(int64_t below_offset, Duration timeout) const {
  int64_t deleted = 0;
  for (;;) {
    Request request;
    coord::v1::TopicTrimRequest* trim = request.mutable_topic_trim();
    trim->set_topic(name_);
    trim->set_below_offset(below_offset);
    auto reply = client_.Call(std::move(request), timeout);
    if (!reply.ok()) return reply.status();
    deleted += reply->topic_trim().deleted();
    if (!reply->topic_trim().more()) return deleted;
  }
}

}  // namespace coord
