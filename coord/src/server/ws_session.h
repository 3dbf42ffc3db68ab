// WebSocketSession: one client on /v1/ws (the chat-multi idiom of Beast: a strand
// per connection, one read loop, a single writer draining an ordered queue).
//
// Frames: binary = protobuf Request, text = JSON Request; replies use the frame
// type of their request. A frame that does not decode gets an error Response
// (id 0 unless the id could be read) and the connection stays open. A frame over
// max_request_bytes, or a peer that stops answering pings, ends the connection
// (Beast's read_message_max and idle timeout).
//
// Memory bound: the bytes queued for the client and not yet written (including
// the frame being written) are bounded by max_outbound_bytes_per_connection.
// Once past it the session stops reading requests, and reads again when the
// writer has drained it below. A queue that stays past it for kSlowClientGrace, or
// grows past twice it (replies of requests read earlier, pushed events), closes
// the connection with 1008 and a reason: the client is not reading.
//
// First-message timeout: while auth is enabled, a connection that has not
// authenticated 10 s after the upgrade is closed with 1008 (counted in
// coord_auth_login_timeouts_total).
//
// Thread-safety: the ClientSink methods may be called from any thread; they
// take the session mutex and post the writer onto the strand.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "server/client_sink.h"
#include "server/client_stream.h"
#include "server/outbound_queue.h"

namespace coord::server {

// Subprotocols (Sec-WebSocket-Protocol) a client may offer: "coord.v1", and
// "coord.token.<token>" to authenticate with a token where no header can be set
// (the browser path; docs/security.md). The server echoes coord.v1 when offered,
// else the token entry (a browser needs one offered value echoed).
inline constexpr std::string_view kSubprotocolV1 = "coord.v1";
inline constexpr std::string_view kSubprotocolTokenPrefix = "coord.token.";

struct SubprotocolOffer {
  std::string token;   // the first coord.token.<token> offered, without the prefix
  std::string chosen;  // what to echo; empty: none offered that we know
};
SubprotocolOffer ParseSubprotocols(std::string_view header);

class Service;
class Metrics;
class ClientSocketSlot;
struct ServerLimits;

class WebSocketSession : public ClientSink, public std::enable_shared_from_this<WebSocketSession> {
 public:
  // `slot` counts the socket against the connection cap until the session ends.
  WebSocketSession(ClientStream stream, std::unique_ptr<ClientSocketSlot> slot,
                   uint64_t connection_id, Service* service, Metrics* metrics,
                   const ServerLimits& limits);
  ~WebSocketSession() override;

  // Completes the upgrade handshake for `request` and starts reading.
  void Run(boost::beast::http::request<boost::beast::http::string_body> request);

  uint64_t connection_id() const override { return connection_id_; }
  uint64_t Reserve() override;
  void Fill(uint64_t slot, const coord::v1::ServerMessage& message, bool text) override;
  void Push(const coord::v1::ServerMessage& message, bool text) override;
  bool PushEvent(int64_t watch_id, const coord::v1::ServerMessage& message, bool text) override;

 private:
  void OnAccept(boost::beast::error_code ec);
  void DoRead();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  void KickWriter();  // caller holds no lock
  void DoWrite();     // on the strand
  void OnWrite(boost::beast::error_code ec, size_t bytes);
  void Close();
  // Drops what is queued and closes the connection of a client that does not
  // read (any thread, any lock held: the rest happens on the strand).
  void CloseSlow(const std::string& reason);
  // Closes with 1008 (policy) and `reason`, from any thread (as CloseSlow).
  void ClosePolicy(const std::string& reason);
  // The first-message timeout: closes the connection if, kLoginGrace after the
  // upgrade, auth is enabled and it has not authenticated (Service::NeedsLogin).
  void StartLoginTimer();
  // Called with mu_ held after something was queued: true if the queue has grown
  // past twice the bound (the caller then calls CloseSlow without the lock).
  bool OverHardBoundLocked() const;
  std::string HardBoundReason() const;
  bool OverBound();    // takes mu_
  void PauseReading();  // on the strand
  void ReplyDone(const coord::v1::ServerMessage& message);

  // Declared before ws_: the socket closes before the slot is given back.
  std::unique_ptr<ClientSocketSlot> slot_;
  ClientWebSocket ws_;  // plain or TLS
  boost::beast::flat_buffer buffer_;
  const uint64_t connection_id_;
  Service* service_;
  Metrics* metrics_;
  const size_t max_inflight_;
  const size_t max_outbound_bytes_;
  std::atomic<size_t> inflight_{0};
  bool read_paused_ = false;                // strand only
  boost::asio::steady_timer slow_timer_;    // strand only
  boost::asio::steady_timer login_timer_;   // strand only

  std::mutex mu_;  // guards the fields below
  OutboundQueue queue_;
  bool writing_ = false;
  bool closed_ = false;
  size_t writing_bytes_ = 0;               // size of the frame being written
  std::optional<OutboundFrame> current_;  // the frame being written (strand only)
};

}  // namespace coord::server
