// WsClient: a small WebSocket client for the integration tests (Boost.Beast).
//
// One background thread runs the connection: it reads every frame into an inbox
// and writes queued frames one at a time. The test thread sends requests and
// waits for messages with deadlines (never sleeps). Responses are matched to
// requests by id; pushed messages (watch events, session events) stay in the
// inbox for NextPushed().
//
// Thread-safety: the public methods may be called from one test thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "coord.pb.h"
#include "coord/status.h"

namespace coord::test {

class WsClient {
 public:
  using Duration = std::chrono::milliseconds;

  // Connects to ws://address/v1/ws ("host:port"), offering `subprotocols` in
  // Sec-WebSocket-Protocol when not empty (as a browser would). Errors:
  // kUnavailable.
  static Result<std::unique_ptr<WsClient>> Connect(const std::string& address,
                                                   Duration timeout = Duration(3000),
                                                   const std::string& subprotocols = "");
  // The Sec-WebSocket-Protocol the server chose (empty: none).
  const std::string& accepted_subprotocol() const { return accepted_subprotocol_; }
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Sends a raw frame (binary or text).
  void SendRaw(std::string payload, bool text);
  // Sends `request` (binary protobuf or JSON) and waits for the Response with its id.
  // A zero id is replaced by a fresh one. Errors: kTimeout, kUnavailable (closed).
  Result<coord::v1::Response> Call(coord::v1::Request request, bool json = false,
                                   Duration timeout = Duration(10000));
  // Waits for the next pushed (non-response) message.
  Result<coord::v1::ServerMessage> NextPushed(Duration timeout = Duration(10000));
  // Waits for any next message (response or pushed), in arrival order.
  Result<coord::v1::ServerMessage> NextAny(Duration timeout = Duration(10000));
  // Every message in arrival order so far (for ordering checks), without consuming.
  std::vector<coord::v1::ServerMessage> Log();

  // True once the server closed the connection (or it broke).
  bool WaitClosed(Duration timeout);
  uint64_t NextId() { return next_id_++; }

 private:
  WsClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t next_id_ = 1;
  std::string accepted_subprotocol_;
};

}  // namespace coord::test
