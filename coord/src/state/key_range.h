// KeyRange: the set of keys a request names (one key, a prefix, or [key, range_end)).
#pragma once

#include <string>
#include <string_view>

#include "coord/status.h"

namespace coord::server {

struct KeyRange {
  std::string begin;
  std::string end;         // exclusive; meaningful only if !single && !unbounded
  bool single = false;     // exactly `begin`
  bool unbounded = false;  // every key >= begin

  bool Contains(std::string_view key) const {
    if (single) return key == begin;
    if (key < std::string_view(begin)) return false;
    return unbounded || key < std::string_view(end);
  }
  // True if no key after `key` (in order) can be in the range.
  bool PastEnd(std::string_view key) const {
    if (single) return key > std::string_view(begin);
    return !unbounded && key >= std::string_view(end);
  }
};

// The range holding exactly `name`.
inline KeyRange SingleKeyRange(std::string_view name) {
  KeyRange range;
  range.begin = std::string(name);
  range.single = true;
  return range;
}

// Builds the range of a request:
//   prefix = true        every key starting with `key` (an empty key: every key);
//   range_end == "\0"    every key >= key;
//   range_end non-empty  [key, range_end), range_end must be > key;
//   otherwise            exactly `key`, which must not be empty.
// Errors: INVALID_ARGUMENT.
Result<KeyRange> MakeKeyRange(std::string_view key, std::string_view range_end, bool prefix);

// The smallest string greater than every string starting with `prefix`, or empty if
// there is none (prefix empty or all 0xff bytes).
std::string PrefixEnd(std::string_view prefix);

}  // namespace coord::server
