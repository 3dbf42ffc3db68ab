#include "server/outbound_queue.h"

#include <algorithm>

namespace coord::server {

uint64_t OutboundQueue::Reserve() {
  const uint64_t slot = next_slot_++;
  items_.push_back(Item{slot, false, 0, {}});
  return slot;
}

void OutboundQueue::Fill(uint64_t slot, OutboundFrame frame) {
  // Slots are increasing along the deque: binary search.
  auto it = std::lower_bound(items_.begin(), items_.end(), slot,
                             [](const Item& item, uint64_t s) { return item.slot < s; });
  if (it == items_.end() || it->slot != slot || it->ready) return;
  it->ready = true;
  bytes_ += frame.payload.size();
  it->frame = std::move(frame);
}

void OutboundQueue::Push(OutboundFrame frame) {
  bytes_ += frame.payload.size();
  items_.push_back(Item{next_slot_++, true, 0, std::move(frame)});
}

bool OutboundQueue::PushEvent(int64_t watch_id, OutboundFrame frame) {
  size_t& count = pending_[watch_id];
  if (count >= max_pending_per_watch_) return false;
  ++count;
  bytes_ += frame.payload.size();
  items_.push_back(Item{next_slot_++, true, watch_id, std::move(frame)});
  return true;
}

std::optional<OutboundFrame> OutboundQueue::PopReady() {
  if (items_.empty() || !items_.front().ready) return std::nullopt;
  Item item = std::move(items_.front());
  items_.pop_front();
  bytes_ -= item.frame.payload.size();
  if (item.watch_id != 0) {
    auto it = pending_.find(item.watch_id);
    if (it != pending_.end() && it->second > 0) --it->second;
  }
  return std::move(item.frame);
}

void OutboundQueue::Clear() {
  items_.clear();
  pending_.clear();
  bytes_ = 0;
}

size_t OutboundQueue::pending_events(int64_t watch_id) const {
  auto it = pending_.find(watch_id);
  return it == pending_.end() ? 0 : it->second;
}

}  // namespace coord::server
