// ClientSink: where the service puts what one client connection should receive.
// Implemented by the WebSocket session (and by fakes in tests). See
// outbound_queue.h for the ordering rule these methods implement.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "coord.pb.h"

namespace coord::server {

// Who a connection proved to be (service_auth.cc). Checked again on every
// request: the user must still exist, a password or token login must still have
// the user's generation and the ensemble's signing key, and a token login ends
// at the token's expiry.
struct ConnectionIdentity {
  std::string user;             // empty: not authenticated
  uint64_t generation = 0;      // the user's generation at login
  int64_t expires_unix_ms = 0;  // 0: does not expire (a client certificate)
  bool from_certificate = false;
  std::string signing_key;      // the key its token was signed with
  // Offered in Sec-WebSocket-Protocol at the upgrade, checked at the first request.
  std::string offered_token;
  uint32_t failed_logins = 0;  // since the last successful one (the back-off)
};

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

  ConnectionIdentity identity() const {
    std::lock_guard lock(identity_mu_);
    return identity_;
  }
  void set_identity(ConnectionIdentity identity) {
    std::lock_guard lock(identity_mu_);
    identity_ = std::move(identity);
  }
  // Changes the identity atomically: f(ConnectionIdentity&); returns f's result.
  template <typename F>
  auto UpdateIdentity(F&& f) {
    std::lock_guard lock(identity_mu_);
    return f(identity_);
  }

 private:
  mutable std::mutex identity_mu_;
  ConnectionIdentity identity_;
};

// Queues `response` on `sink` as a ready message.
inline void PushResponse(ClientSink& sink, coord::v1::Response response, bool text) {
  coord::v1::ServerMessage m;
  *m.mutable_response() = std::move(response);
  sink.Push(m, text);
}

}  // namespace coord::server
