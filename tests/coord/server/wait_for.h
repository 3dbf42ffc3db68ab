// WaitFor: polls `pred` until it holds or `limit` passes (the server's parts
// complete on their I/O threads); returns its last value.
#pragma once

#include <chrono>
#include <thread>

namespace coord::server {

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace coord::server
