// A linearizability checker for key-value registers (the robustness suite's
// "register" workload, issue 12): read, write and compare-and-set on keys,
// recorded as a history of operations with their call and return times.
//
// The search is Wing & Gong's with Lowe's memoization (as in Porcupine): at
// each step, any operation called before the earliest return among those not
// yet linearized may take effect next; a state (the set of linearized
// operations, the register's value) already found a dead end is not explored
// again. Keys are independent (a register per key), so each key's
// sub-history is checked on its own.
//
// Indeterminate operations (the client never learned the outcome: a timeout,
// a broken connection) have no return: they may take effect at any point after
// their call, or never. A read that is indeterminate constrains nothing.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coord::robustness {

struct RegisterOp {
  enum Kind { kRead, kWrite, kCas };
  Kind kind = kRead;
  std::string key;
  int client = 0;
  // kWrite: the value written. kCas: the new value.
  std::string value;
  // kCas: the value compared with (nullopt: "the key does not exist").
  std::optional<std::string> expected;
  // kRead: what the read returned (nullopt: absent). kCas: whether it succeeded.
  std::optional<std::string> observed;
  bool cas_succeeded = false;
  int64_t call = 0;      // any monotonic clock, same for every client
  int64_t ret = 0;       // > call; ignored when indeterminate
  bool indeterminate = false;
};

struct CheckResult {
  bool linearizable = true;
  // When not: the first key that failed, and how many of its operations the
  // longest linearization found placed (a hint to where it breaks).
  std::string key;
  size_t placed = 0;
  size_t operations = 0;
  // The search gave up (more states than the budget): neither proven nor refuted.
  bool exhausted = false;
  std::string Describe() const;
};

// Checks `history` (any order). `max_states` bounds the memo per key.
CheckResult CheckRegisterHistory(const std::vector<RegisterOp>& history,
                                 size_t max_states = 2'000'000);

}  // namespace coord::robustness
