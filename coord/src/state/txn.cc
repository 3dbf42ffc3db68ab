// Transactions: compares, then/else op lists, applied atomically at one revision.
//
// Rule: a txn writes each key at most once (a key's version at a revision is
// unique, which the history and the event log rely on). Plain puts and literal
// delete ranges are checked in both branches up front; the branch that runs is also
// checked against the current state (sequential keys and the keys a delete range
// actually removes), all before the first write.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "state/state_machine_impl.h"

namespace coord::server {

namespace {

using Ops = google::protobuf::RepeatedPtrField<coord::v1::TxnOp>;

Status WrittenTwice(const std::string& key) {
  return Status::InvalidArgument("txn writes key \"" + key + "\" more than once");
}

template <typename T>
bool CompareValues(coord::v1::Compare::Op op, const T& actual, const T& expected) {
  switch (op) {
    case coord::v1::Compare::EQUAL:
      return actual == expected;
    case coord::v1::Compare::NOT_EQUAL:
      return actual != expected;
    case coord::v1::Compare::GREATER:
      return actual > expected;
    case coord::v1::Compare::LESS:
      return actual < expected;
    default:
      return false;
  }
}

// Static checks of one branch: plain puts vs. plain puts and literal delete ranges.
Status CheckBranchStatically(const Ops& ops) {
  std::set<std::string> put_keys;
  std::vector<KeyRange> delete_ranges;
  for (const coord::v1::TxnOp& op : ops) {
    if (op.has_put() && !op.put().sequential()) {
      if (!put_keys.insert(op.put().key()).second) return WrittenTwice(op.put().key());
    } else if (op.has_delete_()) {
      const coord::v1::DeleteRequest& d = op.delete_();
      delete_ranges.push_back(*MakeKeyRange(d.key(), d.range_end(), d.prefix()));
    }
  }
  for (const std::string& key : put_keys) {
    for (const KeyRange& r : delete_ranges) {
      if (r.Contains(key)) return WrittenTwice(key);
    }
  }
  return Status::Ok();
}

}  // namespace

Status StateMachine::Impl::ValidateTxn(const coord::v1::TxnRequest& txn) const {
  const size_t limit = options_.max_txn_ops;
  if (static_cast<size_t>(txn.compare_size()) > limit ||
      static_cast<size_t>(txn.success_size()) > limit ||
      static_cast<size_t>(txn.failure_size()) > limit) {
    return Status::TooLarge("txn has more than " + std::to_string(limit) +
                            " compares or operations in a branch");
  }
  for (const coord::v1::Compare& c : txn.compare()) {
    if (c.key().empty()) return Status::InvalidArgument("compare key must not be empty");
    COORD_RETURN_IF_ERROR(CheckKey(c.key()));
    if (!coord::v1::Compare::Op_IsValid(c.op())) {
      return Status::InvalidArgument("unknown compare op " + std::to_string(c.op()));
    }
    switch (c.target()) {
      case coord::v1::Compare::VALUE:
      case coord::v1::Compare::VERSION:
      case coord::v1::Compare::CREATE_REVISION:
      case coord::v1::Compare::MOD_REVISION:
        break;
      case coord::v1::Compare::EXISTS:
        if (c.op() != coord::v1::Compare::EQUAL && c.op() != coord::v1::Compare::NOT_EQUAL) {
          return Status::InvalidArgument("EXISTS compares only with EQUAL or NOT_EQUAL");
        }
        break;
      case coord::v1::Compare::LOCK_TOKEN:  // key = lock name, number = token
        break;
      default:
        return Status::InvalidArgument("unknown compare target " + std::to_string(c.target()));
    }
  }
  if (txn.conflict_on_failure() && txn.failure_size() != 0) {
    return Status::InvalidArgument("a txn with conflict_on_failure must have no failure ops");
  }
  for (const Ops* ops : {&txn.success(), &txn.failure()}) {
    for (const coord::v1::TxnOp& op : *ops) {
      switch (op.op_case()) {
        case coord::v1::TxnOp::kPut:
          COORD_RETURN_IF_ERROR(ValidatePut(op.put()));
          break;
        case coord::v1::TxnOp::kRange:
          COORD_RETURN_IF_ERROR(ValidateRange(op.range()));
          break;
        case coord::v1::TxnOp::kDelete:
          COORD_RETURN_IF_ERROR(ValidateDelete(op.delete_()));
          break;
        case coord::v1::TxnOp::kAppend:
          COORD_RETURN_IF_ERROR(ValidateAppend(op.append()));
          break;
        case coord::v1::TxnOp::OP_NOT_SET:
          return Status::InvalidArgument("txn operation has no body");
      }
    }
    COORD_RETURN_IF_ERROR(CheckBranchStatically(*ops));
  }
  return Status::Ok();
}

bool StateMachine::Impl::CompareHolds(const coord::v1::Compare& c) const {
  const KeyVersion* v = keys_.Get(c.key());
  switch (c.target()) {
    case coord::v1::Compare::VALUE:
      // Like etcd: a value compare on a missing key never holds.
      return v != nullptr &&
             CompareValues(c.op(), std::string_view(v->value), std::string_view(c.value()));
    case coord::v1::Compare::VERSION:
      return CompareValues<int64_t>(c.op(), v ? v->version : 0, c.number());
    case coord::v1::Compare::CREATE_REVISION:
      return CompareValues<int64_t>(c.op(), v ? v->create_revision : 0, c.number());
    case coord::v1::Compare::MOD_REVISION:
      return CompareValues<int64_t>(c.op(), v ? v->revision : 0, c.number());
    case coord::v1::Compare::EXISTS:
      return CompareValues<bool>(c.op(), v != nullptr, c.exists());
    case coord::v1::Compare::LOCK_TOKEN:
      return CompareValues<int64_t>(c.op(), LockToken(c.key()), c.number());
    default:
      return false;  // rejected by ValidateTxn
  }
}

Status StateMachine::Impl::PlanTxnBranch(const Ops& ops) const {
  std::set<std::string> put_keys;
  std::set<std::string> deleted_keys;
  std::map<std::string, uint64_t> counters;
  // What Exec will see when it reaches each op: the state plus earlier ops.
  auto exists = [&](const std::string& key) {
    if (put_keys.count(key) != 0) return true;
    if (deleted_keys.count(key) != 0) return false;
    return keys_.Get(key) != nullptr;
  };
  for (const coord::v1::TxnOp& op : ops) {
    if (op.has_put() || op.has_append()) {
      // An append is a sequential put under the topic prefix.
      const bool append = op.has_append();
      const std::string& base = append ? op.append().topic() : op.put().key();
      std::string key = base;
      if (append || op.put().sequential()) {
        auto [it, fresh] = counters.emplace(key, 0);
        if (fresh) it->second = keys_.SequenceCounter(key);
        key = NextSequentialKey(base, &it->second, exists);
      }
      if (put_keys.count(key) != 0 || deleted_keys.count(key) != 0) return WrittenTwice(key);
      put_keys.insert(key);
    } else if (op.has_delete_()) {
      const coord::v1::DeleteRequest& d = op.delete_();
      KeyRange range = *MakeKeyRange(d.key(), d.range_end(), d.prefix());
      for (const std::string& key : put_keys) {
        if (range.Contains(key)) return WrittenTwice(key);
      }
      keys_.ForEach(range, 0, [&](const std::string& key, const KeyVersion&) {
        deleted_keys.insert(key);  // already deleted by an earlier op: not written again
        return true;
      });
    }
  }
  return CheckTxnResultSize(ops);
}

Status StateMachine::Impl::CheckTxnResultSize(const Ops& ops) const {
  // An upper bound of what the branch's ranges return: each range over the state
  // before the txn, plus everything the txn writes (which a later range may see).
  ReadBudget budget{options_.max_txn_result_bytes};
  bool reads = false;
  for (const coord::v1::TxnOp& op : ops) {
    if (op.has_put()) budget.Take(op.put().key().size() + op.put().value().size());
    if (op.has_append()) budget.Take(op.append().topic().size() + op.append().value().size());
    reads |= op.has_range();
  }
  if (!reads) return Status::Ok();
  for (const coord::v1::TxnOp& op : ops) {
    if (budget.exceeded) break;
    if (op.has_range()) ExecRange(op.range(), &budget);
  }
  if (!budget.exceeded) return Status::Ok();
  return Status::TooLarge("the txn's reads would return over " +
                          std::to_string(options_.max_txn_result_bytes) +
                          " bytes; nothing was written: read the ranges separately, in pages");
}

std::string StateMachine::Impl::DescribeFailedCompare(const coord::v1::Compare& c) const {
  std::string what = "txn compare failed: " + coord::v1::Compare::Target_Name(c.target()) +
                     " of \"" + c.key() + "\" " + coord::v1::Compare::Op_Name(c.op());
  if (c.target() == coord::v1::Compare::LOCK_TOKEN) {
    return what + " " + std::to_string(c.number()) + " does not hold (current token " +
           std::to_string(LockToken(c.key())) + ")";
  }
  return what + " does not hold";
}

bool StateMachine::IsReadOnlyTxn(const coord::v1::TxnRequest& txn) {
  for (const Ops* ops : {&txn.success(), &txn.failure()}) {
    for (const coord::v1::TxnOp& op : *ops) {
      if (!op.has_range()) return false;
    }
  }
  return true;
}

Result<coord::v1::TxnResponse> StateMachine::Impl::ReadTxn(const coord::v1::TxnRequest& txn,
                                                           ReadBudget* budget) const {
  COORD_RETURN_IF_ERROR(ValidateTxn(txn));
  if (!IsReadOnlyTxn(txn)) return Status::InvalidArgument("txn writes: it is not read-only");
  bool succeeded = true;
  for (const coord::v1::Compare& c : txn.compare()) {
    if (!CompareHolds(c)) {
      if (txn.conflict_on_failure()) return Status::Conflict(DescribeFailedCompare(c));
      succeeded = false;
      break;
    }
  }
  coord::v1::TxnResponse out;
  out.set_succeeded(succeeded);
  for (const coord::v1::TxnOp& op : succeeded ? txn.success() : txn.failure()) {
    *out.add_results()->mutable_range() = ExecRange(op.range(), budget);
    if (budget->exceeded) return Status::TooLarge("");
  }
  out.set_revision(keys_.revision());
  return out;
}

Result<coord::v1::TxnResponse> StateMachine::Impl::Txn(const coord::v1::TxnRequest& txn,
                                                       bool* fencing_rejected) {
  COORD_RETURN_IF_ERROR(ValidateTxn(txn));
  bool succeeded = true;
  for (const coord::v1::Compare& c : txn.compare()) {
    if (!CompareHolds(c)) {
      succeeded = false;
      // A stale fencing token: the writer lost (or never had) the lock.
      *fencing_rejected = c.target() == coord::v1::Compare::LOCK_TOKEN;
      if (txn.conflict_on_failure()) return Status::Conflict(DescribeFailedCompare(c));
      break;
    }
  }
  const Ops& ops = succeeded ? txn.success() : txn.failure();
  COORD_RETURN_IF_ERROR(PlanTxnBranch(ops));

  // Nothing below can fail: every op was validated and the plan holds.
  const int64_t revision = keys_.revision() + 1;
  coord::v1::TxnResponse out;
  out.set_succeeded(succeeded);
  for (const coord::v1::TxnOp& op : ops) {
    coord::v1::TxnOpResult* r = out.add_results();
    switch (op.op_case()) {
      case coord::v1::TxnOp::kPut:
        *r->mutable_put() = ExecPut(op.put(), revision);
        break;
      case coord::v1::TxnOp::kRange:
        *r->mutable_range() = ExecRange(op.range());
        break;
      case coord::v1::TxnOp::kDelete:
        *r->mutable_delete_() = ExecDelete(op.delete_(), revision);
        break;
      case coord::v1::TxnOp::kAppend:
        *r->mutable_append() = ExecAppend(op.append(), revision);
        break;
      case coord::v1::TxnOp::OP_NOT_SET:
        break;
    }
  }
  // Deletes that matched nothing before the first real write report the old revision.
  for (coord::v1::TxnOpResult& r : *out.mutable_results()) {
    if (r.has_delete_()) r.mutable_delete_()->set_revision(keys_.revision());
  }
  out.set_revision(keys_.revision());
  return out;
}

}  // namespace coord::server
