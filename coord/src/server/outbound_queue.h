// OutboundQueue: the ordered output of one client connection.
//
// The ordering rule of the API: a client never sees the event of its own write
// before the reply to that write. A write reserves a slot when it arrives; every
// message pushed after that (watch events, other replies) waits behind the slot
// until the write's reply fills it. Since a write's events are produced when it is
// applied, before its reply exists, they always leave after the reply.
//
// Back-pressure: events of each watch that are queued and not yet written are
// counted; PushEvent refuses an event once its watch has `max_pending_per_watch`
// queued, and the caller cancels that watch (slow consumer). The queue also counts
// the bytes it holds (bytes()); the connection bounds that total (ws_session.h).
//
// Thread-safety: none; the connection guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace coord::server {

struct OutboundFrame {
  std::string payload;
  bool text = false;
};

class OutboundQueue {
 public:
  explicit OutboundQueue(size_t max_pending_per_watch)
      : max_pending_per_watch_(max_pending_per_watch) {}

  // Reserves the next position for a reply that is not known yet.
  uint64_t Reserve();
  // Fills a reserved slot. Unknown or already filled slots are ignored.
  void Fill(uint64_t slot, OutboundFrame frame);
  // Appends a ready message.
  void Push(OutboundFrame frame);
  // Appends an event of `watch_id`; false (nothing queued) if that watch already
  // has max_pending_per_watch events queued.
  bool PushEvent(int64_t watch_id, OutboundFrame frame);

  // Removes and returns the first message if it is ready.
  std::optional<OutboundFrame> PopReady();

  size_t size() const { return items_.size(); }
  // Payload bytes of the messages queued (filled or pushed, not yet popped).
  size_t bytes() const { return bytes_; }
  // Drops everything queued (the connection is being closed).
  void Clear();
  size_t pending_events(int64_t watch_id) const;
  // Drops the counting for a watch that was cancelled (its queued events still go).
  void ForgetWatch(int64_t watch_id) { pending_.erase(watch_id); }

 private:
  struct Item {
    uint64_t slot = 0;
    bool ready = false;
    int64_t watch_id = 0;  // 0 = not an event
    OutboundFrame frame;
  };
  size_t max_pending_per_watch_;
  uint64_t next_slot_ = 1;
  size_t bytes_ = 0;
  std::deque<Item> items_;  // slot order
  std::map<int64_t, size_t> pending_;
};

}  // namespace coord::server
