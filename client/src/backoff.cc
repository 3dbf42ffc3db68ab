#include "backoff.h"

#include <algorithm>

namespace coord::client_internal {

Backoff::Duration Backoff::Base() const {
  // Doubling stops once past max (no overflow for any number of failures).
  int64_t d = initial_.count();
  for (int i = 0; i < failures_ && d < max_.count(); ++i) d *= 2;
  return Duration(std::min<int64_t>(d, max_.count()));
}

Backoff::Duration Backoff::Next() {
  const int64_t base = Base().count();
  ++failures_;
  // Jitter in [base/2, base] spreads the reconnects of many clients after a
  // member dies, so they do not hit the next member in lockstep.
  const int64_t low = base / 2;
  std::uniform_int_distribution<int64_t> dist(low, base);
  return Duration(dist(rng_));
}

}  // namespace coord::client_internal
