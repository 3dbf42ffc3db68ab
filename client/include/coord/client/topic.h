// coord::Topic: the outbox of one topic — publish an event atomically with the
// state change it announces, read records from an offset, look up consumer
// cursors and lag, and trim what every consumer has passed (eventual consistency,
// docs/consistency.md).
//
//   coord::Topic orders(*client, "/orders/events/");
//   coord::v1::TxnOp put;                                       // the state change
//   put.mutable_put()->set_key("/orders/42");
//   put.mutable_put()->set_value("placed");
//   auto published = orders.Publish("OrderPlaced 42", {coord::Topic::Absent("/orders/42")}, {put});
//   if (published.status().code() == coord::StatusCode::kConflict) ...  // nothing written
//
// Records. A topic is a key prefix; its records are topic + a 20-digit offset
// (1, 2, 3..., never reused, even after a trim). Publishing is one txn: when
// every compare holds, the ops and the append commit at one revision; when one
// fails, NOTHING is written (not the state, not the event) and Publish answers
// kConflict — a stale writer publishes nothing.
//
// Cursors. A consumer group's cursor is the NEXT offset it will read, kept in the
// key "/_coord/offsets/" + topic + "/" + group (decimal). A cursor only moves
// with a compare on its previous value (see consumer.h).
//
// Outcomes: a Publish or Trim that fails with kTimeout may have been applied
// (the client retries it exactly-once until its deadline); kUnavailable and
// kConflict mean it was not.
//
// Thread-safety: thread-safe (no state besides the names). Must not outlive its Client.
// Status: new; may change.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "coord.pb.h"
#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

class Topic {
 public:
  using Duration = std::chrono::milliseconds;

  struct Published {
    int64_t offset = 0;    // the event's offset
    int64_t revision = 0;  // the revision of the state change and the event
  };

  // `name` is the prefix, e.g. "/orders/events/" (non-empty).
  Topic(Client& client, std::string name);

  // One txn: if every compare holds, apply `ops` and append `event`.
  // Errors: kConflict (a compare failed; nothing was written), kInvalidArgument,
  // kTooLarge, call errors.
  Result<Published> Publish(const std::string& event,
                            const std::vector<coord::v1::Compare>& compares = {},
                            const std::vector<coord::v1::TxnOp>& ops = {},
                            Duration timeout = Duration(0)) const;

  // Records from `from_offset` (0: the oldest retained), at most `limit` (0: the
  // server's reply bound). Linearizable. `truncated` in the reply says records
  // between from_offset and the first returned were trimmed.
  Result<coord::v1::TopicReadResponse> Read(int64_t from_offset, int64_t limit,
                                            Duration timeout = Duration(0)) const;

  // The highest offset ever appended (0: none). Linearizable.
  Result<int64_t> Head(Duration timeout = Duration(0)) const;

  // The group's cursor: the next offset it reads; 0 when it never committed.
  Result<int64_t> Cursor(const std::string& group, Duration timeout = Duration(0)) const;

  // Events published but not yet passed by the group: head - cursor + 1 (the
  // head when the group never committed), never negative.
  Result<int64_t> Lag(const std::string& group, Duration timeout = Duration(0)) const;

  // Retention: deletes the records below every committed group cursor (and below
  // `below_offset` when non-zero), in batches until none is left. Returns the
  // number deleted. A group that never committed does not hold records back.
  Result<int64_t> Trim(int64_t below_offset = 0, Duration timeout = Duration(0)) const;

  const std::string& name() const { return name_; }
  // "/_coord/offsets/" + topic + "/" + group.
  static std::string CursorKey(const std::string& topic, const std::string& group);
  // The offset a cursor key's value holds (a non-negative decimal). kConflict
  // naming `key` when it holds anything else.
  static Result<int64_t> ParseCursor(const std::string& key, const std::string& value);

  // Compare helpers for Publish.
  static coord::v1::Compare Absent(const std::string& key);  // key does not exist
  static coord::v1::Compare ModRevisionIs(const std::string& key, int64_t mod_revision);
  static coord::v1::Compare ValueIs(const std::string& key, const std::string& value);

 private:
  Client& client_;
  const std::string name_;
};

}  // namespace coord
