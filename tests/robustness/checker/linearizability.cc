#include "checker/linearizability.h"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_set>

namespace coord::robustness {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

using Value = std::optional<std::string>;

// Applies `op` to `state`; false when `op` could not have happened in it.
bool Step(const RegisterOp& op, Value* state) {
  switch (op.kind) {
    case RegisterOp::kRead:
      return op.indeterminate || op.observed == *state;
    case RegisterOp::kWrite:
      *state = op.value;
      return true;
    case RegisterOp::kCas: {
      const bool matches = op.expected == *state;
      if (op.indeterminate) {
        // It took effect here: it applied iff the compare held.
        if (matches) *state = op.value;
        return true;
      }
      if (op.cas_succeeded != matches) return false;
      if (matches) *state = op.value;
      return true;
    }
  }
  return false;
}

class KeySearch {
 public:
  KeySearch(std::vector<RegisterOp> ops, size_t max_states)
      : ops_(std::move(ops)), max_states_(max_states), done_(ops_.size(), false) {
    for (const RegisterOp& op : ops_) pending_determinate_ += op.indeterminate ? 0 : 1;
  }

  // True: linearizable. False: refuted, or exhausted (see exhausted()).
  bool Run() { return Search(Value()); }
  size_t best() const { return best_; }
  bool exhausted() const { return exhausted_; }

 private:
  int64_t Ret(const RegisterOp& op) const { return op.indeterminate ? kNever : op.ret; }

  std::string MemoKey(const Value& state) const {
    std::string k;
    k.reserve(done_.size() + 8);
    for (bool d : done_) k.push_back(d ? '1' : '0');
    k.push_back('|');
    if (state) {
      k.push_back('v');
      k += *state;
    } else {
      k.push_back('-');
    }
    return k;
  }

  bool Search(const Value& state) {
    if (pending_determinate_ == 0) return true;  // the rest may never have happened
    if (!seen_.insert(MemoKey(state)).second) return false;
    if (seen_.size() > max_states_) {
      exhausted_ = true;
      return false;
    }
    int64_t earliest_return = kNever;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!done_[i]) earliest_return = std::min(earliest_return, Ret(ops_[i]));
    }
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done_[i] || ops_[i].call >= earliest_return) continue;
      Value next = state;
      if (!Step(ops_[i], &next)) continue;
      done_[i] = true;
      pending_determinate_ -= ops_[i].indeterminate ? 0 : 1;
      placed_ += 1;
      best_ = std::max(best_, placed_);
      const bool ok = Search(next);
      done_[i] = false;
      pending_determinate_ += ops_[i].indeterminate ? 0 : 1;
      placed_ -= 1;
      if (ok) return true;
      if (exhausted_) return false;
    }
    return false;
  }

  const std::vector<RegisterOp> ops_;
  const size_t max_states_;
  std::vector<bool> done_;
  size_t pending_determinate_ = 0;
  size_t placed_ = 0;
  size_t best_ = 0;
  bool exhausted_ = false;
  std::unordered_set<std::string> seen_;
};

}  // namespace

std::string CheckResult::Describe() const {
  if (linearizable) return "linearizable";
  if (exhausted) {
    return "undecided: key \"" + key + "\" needs more than the search budget";
  }
  return "NOT linearizable: key \"" + key + "\": no order of its " + std::to_string(operations) +
         " operations fits a register (the longest prefix found places " +
         std::to_string(placed) + ")";
}

CheckResult CheckRegisterHistory(const std::vector<RegisterOp>& history, size_t max_states) {
  std::map<std::string, std::vector<RegisterOp>> by_key;
  for (const RegisterOp& op : history) by_key[op.key].push_back(op);
  CheckResult result;
  for (auto& [key, ops] : by_key) {
    // Calls in time order: the search then tries earlier operations first.
    std::sort(ops.begin(), ops.end(),
              [](const RegisterOp& a, const RegisterOp& b) { return a.call < b.call; });
    const size_t n = ops.size();
    KeySearch search(std::move(ops), max_states);
    if (search.Run()) continue;
    result.linearizable = false;
    result.exhausted = search.exhausted();
    result.key = key;
    result.placed = search.best();
    result.operations = n;
    return result;
  }
  return result;
}

}  // namespace coord::robustness
