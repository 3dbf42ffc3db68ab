// ClientSocketSlot: one accepted client TCP connection, counted against the
// connection cap from accept to close whatever it speaks: plain HTTP, an upgrade
// in progress, a WebSocket, or nothing at all (an idle socket holds a descriptor
// like any other). The HTTP session owns it and hands it to the WebSocket
// session on upgrade; the last owner's release uncounts it.
//
// The slot also holds the connection's place in its source address's count
// (SourceCounter), given back with it.
//
// Thread-safety: the counters are thread-safe; a slot itself is owned by one session.
#pragma once

#include <memory>
#include <string>

#include "server/metrics.h"
#include "server/source_counter.h"

namespace coord::server {

class ClientSocketSlot {
 public:
  // `sources` may be null (no per-source count); else `source` was added to it.
  // The slot shares the counter: a session's last handler may be destroyed
  // after the listener, when the io_context is torn down at shutdown.
  ClientSocketSlot(Metrics* metrics, std::shared_ptr<SourceCounter> sources = nullptr,
                   std::string source = "")
      : metrics_(metrics), sources_(std::move(sources)), source_(std::move(source)) {
    metrics_->SocketOpened();
  }
  ~ClientSocketSlot() {
    metrics_->SocketClosed();
    if (sources_ != nullptr) sources_->Remove(source_);
  }
  ClientSocketSlot(const ClientSocketSlot&) = delete;
  ClientSocketSlot& operator=(const ClientSocketSlot&) = delete;

 private:
  Metrics* const metrics_;
  const std::shared_ptr<SourceCounter> sources_;
  const std::string source_;
};

}  // namespace coord::server
