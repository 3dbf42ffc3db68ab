// ClientSocketSlot: one accepted client TCP connection, counted against the
// connection cap from accept to close whatever it speaks: plain HTTP, an upgrade
// in progress, a WebSocket, or nothing at all (an idle socket holds a descriptor
// like any other). The HTTP session owns it and hands it to the WebSocket
// session on upgrade; the last owner's release uncounts it.
//
// Thread-safety: the counter is atomic; a slot itself is owned by one session.
#pragma once

#include "server/metrics.h"

namespace coord::server {

class ClientSocketSlot {
 public:
  explicit ClientSocketSlot(Metrics* metrics) : metrics_(metrics) { metrics_->SocketOpened(); }
  ~ClientSocketSlot() { metrics_->SocketClosed(); }
  ClientSocketSlot(const ClientSocketSlot&) = delete;
  ClientSocketSlot& operator=(const ClientSocketSlot&) = delete;

 private:
  Metrics* const metrics_;
};

}  // namespace coord::server
