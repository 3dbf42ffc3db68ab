// Transport: how Raft members exchange messages.
//
// Delivery is best effort: a message may be dropped (peer down, queue full,
// connection reset) and the core tolerates that by retrying. Send never blocks.
//
// Besides Raft messages the transport carries opaque application payloads
// (SendApp), which the service uses to forward client requests to the leader.
//
// Thread-safety: Send, SendApp, AddPeer and RemovePeer may be called from any
// thread. Handlers run on the transport's own I/O thread(s); they must not block
// (post the work to the owner's strand).
#pragma once

#include <functional>
#include <string>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft {

class Transport {
 public:
  struct Handlers {
    // A Raft message arrived (already decoded; message.from() is the sender).
    std::function<void(pb::Message)> on_message;
    // An application payload arrived from `from`.
    std::function<void(NodeId from, std::string payload)> on_app;
    // Messages to `id` are being dropped (connection failed); optional.
    std::function<void(NodeId id)> on_unreachable;
  };

  virtual ~Transport() = default;

  // Installs handlers and starts listening. Call once, before Send.
  virtual Status Start(Handlers handlers) = 0;
  // Closes every connection and stops delivering to the handlers. Idempotent.
  virtual void Stop() = 0;

  // Adds or updates the address ("host:port") of a peer. Idempotent.
  virtual void AddPeer(NodeId id, std::string address) = 0;
  virtual void RemovePeer(NodeId id) = 0;

  // Queues `message` for message.to(). Drops it if the peer is unknown or its
  // send queue is full.
  virtual void Send(pb::Message message) = 0;
  virtual void SendApp(NodeId to, std::string payload) = 0;
};

}  // namespace coord::raft
