// DeadlineSet<Key, Payload>: the leader's pending deadlines of one kind
// (session expiries, lock wait timeouts, 2PC timers), the part the three
// trackers share. Pure: time is passed in and nothing is proposed here.
//
//   * Activate(items) when this member becomes leader: the set holds exactly
//     these; Deactivate() when leadership is lost: empty, and Set is ignored
//     (the next Activate reloads everything from the state machine).
//   * Set(key, payload, deadline) adds or replaces; Erase(key) forgets.
//   * TakeDue(now, visit) calls visit(key, payload) for every entry past its
//     deadline that was not handed out within the last `retry`: a proposal
//     that was lost is made again, a slow one is not doubled.
//
// Thread-safety: all methods are thread-safe (the apply thread reports changes,
// the server's timer asks for what is due). Callbacks run under the set's lock
// and must not call back into it.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace coord::server {

template <typename Key, typename Payload>
class DeadlineSet {
 public:
  using Clock = std::chrono::steady_clock;
  struct Item {
    Key key;
    Payload payload;
    Clock::time_point deadline;
  };

  explicit DeadlineSet(std::chrono::milliseconds retry) : retry_(retry) {}

  void Activate(const std::vector<Item>& items) {
    std::lock_guard lock(mu_);
    active_ = true;
    entries_.clear();
    for (const Item& item : items) entries_[item.key] = Entry{item.payload, item.deadline, {}};
  }
  void Deactivate() {
    std::lock_guard lock(mu_);
    active_ = false;
    entries_.clear();
  }
  bool active() const {
    std::lock_guard lock(mu_);
    return active_;
  }

  // Ignored while inactive.
  void Set(const Key& key, Payload payload, Clock::time_point deadline) {
    std::lock_guard lock(mu_);
    if (!active_) return;
    entries_[key] = Entry{std::move(payload), deadline, {}};
  }
  void Erase(const Key& key) {
    std::lock_guard lock(mu_);
    entries_.erase(key);
  }

  template <typename Visit>
  void TakeDue(Clock::time_point now, Visit visit) {
    std::lock_guard lock(mu_);
    if (!active_) return;
    for (auto& [key, e] : entries_) {
      if (e.deadline > now) continue;
      if (e.handed_out_at && now - *e.handed_out_at < retry_) continue;
      e.handed_out_at = now;
      visit(key, e.payload);
    }
  }

  // Calls visit(key, payload&, deadline) for every entry, in key order, until it
  // returns false; the payload may be changed. Nothing while inactive.
  template <typename Visit>
  void ForEach(Visit visit) {
    std::lock_guard lock(mu_);
    if (!active_) return;
    for (auto& [key, e] : entries_) {
      if (!visit(key, e.payload, e.deadline)) return;
    }
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    Payload payload;
    Clock::time_point deadline;
    std::optional<Clock::time_point> handed_out_at;
  };
  const std::chrono::milliseconds retry_;
  mutable std::mutex mu_;
  bool active_ = false;
  std::map<Key, Entry> entries_;
};

}  // namespace coord::server
