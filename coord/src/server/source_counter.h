// SourceCounter: open client connections per source IP address, for the
// per-source cap (--max-connections-per-source). Memory: one entry per address
// with at least one open connection, so at most the connection cap's worth.
//
// Thread-safety: thread-safe (one mutex; taken once at accept and once at close).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace coord::server {

class SourceCounter {
 public:
  // Counts one more connection from `source` unless it already has `cap`
  // (then false and nothing changes).
  bool TryAdd(const std::string& source, size_t cap) {
    std::lock_guard lock(mu_);
    size_t& n = open_[source];
    if (n >= cap) {
      if (n == 0) open_.erase(source);
      return false;
    }
    ++n;
    return true;
  }
  void Remove(const std::string& source) {
    std::lock_guard lock(mu_);
    auto it = open_.find(source);
    if (it == open_.end()) return;
    if (--it->second == 0) open_.erase(it);
  }
  size_t sources() const {
    std::lock_guard lock(mu_);
    return open_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, size_t> open_;
};

}  // namespace coord::server
