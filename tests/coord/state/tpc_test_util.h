// Command builders for the 2PC and topic (outbox) tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {

inline Command BeginCmd(const std::vector<std::string>& participants,
                        const std::string& payload = "p", int64_t timeout_ms = 5000) {
  Command c;
  pb::TpcBeginRequest* b = c.mutable_tpc_begin();
  for (const std::string& p : participants) b->add_participants(p);
  b->set_payload(payload);
  b->set_timeout_ms(timeout_ms);
  return c;
}

inline Command VoteCmd(uint64_t txn, const std::string& participant, bool yes) {
  Command c;
  c.mutable_tpc_vote()->set_txn_id(txn);
  c.mutable_tpc_vote()->set_participant(participant);
  c.mutable_tpc_vote()->set_vote(yes ? pb::TPC_VOTE_YES : pb::TPC_VOTE_NO);
  return c;
}

inline Command AckCmd(uint64_t txn, const std::string& participant) {
  Command c;
  c.mutable_tpc_ack()->set_txn_id(txn);
  c.mutable_tpc_ack()->set_participant(participant);
  return c;
}

inline Command TpcTimeoutCmd(uint64_t txn) {
  Command c;
  c.mutable_tpc_timeout()->set_txn_id(txn);
  return c;
}

inline Command TpcForgetCmd(uint64_t txn) {
  Command c;
  c.mutable_tpc_forget()->set_txn_id(txn);
  return c;
}

inline Command CommitOffsetCmd(const std::string& topic, const std::string& consumer,
                               int64_t expected, int64_t offset) {
  Command c;
  pb::TopicCommitOffsetRequest* r = c.mutable_topic_commit_offset();
  r->set_topic(topic);
  r->set_consumer(consumer);
  r->set_expected(expected);
  r->set_offset(offset);
  return c;
}

inline pb::TxnOp AppendOp(const std::string& topic, const std::string& value) {
  pb::TxnOp op;
  op.mutable_append()->set_topic(topic);
  op.mutable_append()->set_value(value);
  return op;
}

inline pb::TxnOp PutOp(const std::string& key, const std::string& value) {
  pb::TxnOp op;
  op.mutable_put()->set_key(key);
  op.mutable_put()->set_value(value);
  return op;
}

inline pb::Response TpcGetOf(const Driver& d, uint64_t txn) {
  pb::TpcGetRequest r;
  r.set_txn_id(txn);
  return d.sm.TpcGet(r);
}

// Ids listed for a participant (empty name: every remembered txn).
inline std::vector<uint64_t> TpcListed(const Driver& d, const std::string& participant,
                                       int64_t limit = 0) {
  pb::TpcListRequest r;
  r.set_participant(participant);
  r.set_limit(limit);
  std::vector<uint64_t> out;
  const pb::Response list = d.sm.TpcList(r);  // keep it alive across the loop
  for (const pb::TpcTxnInfo& t : list.tpc_list().txns()) out.push_back(t.txn_id());
  return out;
}

inline pb::Response TopicReadOf(const Driver& d, const std::string& topic, int64_t from,
                                int64_t limit = 0) {
  pb::TopicReadRequest r;
  r.set_topic(topic);
  r.set_from_offset(from);
  r.set_limit(limit);
  return d.sm.TopicRead(r);
}

inline std::vector<int64_t> Offsets(const pb::Response& read) {
  std::vector<int64_t> out;
  for (const pb::TopicRecord& r : read.topic_read().records()) out.push_back(r.offset());
  return out;
}

}  // namespace coord::server::testing
