// FakeSink: a ClientSink that records what would be written, in order, using the
// real OutboundQueue (so ordering and back-pressure are the production ones).
#pragma once

#include <mutex>
#include <vector>

#include "server/client_sink.h"
#include "server/outbound_queue.h"

namespace coord::server {

class FakeSink : public ClientSink {
 public:
  explicit FakeSink(uint64_t id, size_t max_pending = 1000) : id_(id), queue_(max_pending) {}
  uint64_t connection_id() const override { return id_; }
  uint64_t Reserve() override {
    std::lock_guard lock(mu_);
    return queue_.Reserve();
  }
  void Fill(uint64_t slot, const coord::v1::ServerMessage& m, bool text) override {
    std::lock_guard lock(mu_);
    queue_.Fill(slot, OutboundFrame{m.SerializeAsString(), text});
  }
  void Push(const coord::v1::ServerMessage& m, bool text) override {
    std::lock_guard lock(mu_);
    queue_.Push(OutboundFrame{m.SerializeAsString(), text});
  }
  bool PushEvent(int64_t watch_id, const coord::v1::ServerMessage& m, bool text) override {
    std::lock_guard lock(mu_);
    return queue_.PushEvent(watch_id, OutboundFrame{m.SerializeAsString(), text});
  }
  // "Writes" everything ready, like the connection's writer would.
  std::vector<coord::v1::ServerMessage> Drain() {
    std::lock_guard lock(mu_);
    std::vector<coord::v1::ServerMessage> out;
    while (auto f = queue_.PopReady()) {
      coord::v1::ServerMessage m;
      m.ParseFromString(f->payload);
      out.push_back(m);
    }
    return out;
  }

 private:
  uint64_t id_;
  std::mutex mu_;
  OutboundQueue queue_;
};

}  // namespace coord::server
