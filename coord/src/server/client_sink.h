// ClientSink: where the service puts what one client connection should receive.
// Implemented by the WebSocket session (and by fakes in tests). See
// outbound_queue.h for the ordering rule these methods implement.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>

#include "coord.pb.h"

namespace coord::server {

class ClientSink {
 public:
  virtual ~ClientSink() = default;
  // A unique id of the connection (for watch and session bookkeeping).
  virtual uint64_t connection_id() const = 0;
  // Reserves the position of a reply that will come later (a write).
  virtual uint64_t Reserve() = 0;
  virtual void Fill(uint64_t slot, const coord::v1::ServerMessage& message, bool text) = 0;
  // Queues a ready message.
  virtual void Push(const coord::v1::ServerMessage& message, bool text) = 0;
  // Queues an event of `watch_id`; false when that watch has too many events
  // queued (the caller cancels the watch).
  virtual bool PushEvent(int64_t watch_id, const coord::v1::ServerMessage& message, bool text) = 0;
};

}  // namespace coord::server
