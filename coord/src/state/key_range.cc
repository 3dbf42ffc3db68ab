#include "state/key_range.h"

namespace coord::server {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  // Drop trailing 0xff bytes (they cannot be incremented), then bump the last byte.
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return end;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

Result<KeyRange> MakeKeyRange(std::string_view key, std::string_view range_end, bool prefix) {
  KeyRange range;
  range.begin = std::string(key);
  if (prefix) {
    range.end = PrefixEnd(key);
    range.unbounded = range.end.empty();
    return range;
  }
  if (range_end.empty()) {
    if (key.empty()) return Status::InvalidArgument("key must not be empty");
    range.single = true;
    return range;
  }
  if (range_end == std::string_view("\0", 1)) {
    range.unbounded = true;
    return range;
  }
  if (range_end <= key) {
    return Status::InvalidArgument("range_end must be greater than key");
  }
  range.end = std::string(range_end);
  return range;
}

}  // namespace coord::server
