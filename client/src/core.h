// Core: the client's asynchronous engine (private). One Asio thread owns one
// WebSocket connection at a time, the table of calls, the exactly-once lanes and
// the stream listeners. See client.h for the behaviour users see.
//
// Invariants (all on the I/O thread):
//   * A call is in exactly one of: waiting for a lane (writes only), waiting for a
//     connection (unsent), in flight on the current connection (in_flight_ maps
//     its wire id to it). Its deadline timer ends it in any of these states.
//   * A write owns its lane (client id + sequence) from its first send until its
//     final outcome; every re-send uses the same pair, so the ensemble applies it
//     at most once. The lane's sequence only grows.
//   * epoch_ counts connections; a listener's on_connected(epoch) runs once per
//     connection, after the replies and pushes of older connections and before
//     anything received on the new one.
//
// Thread-safety: Submit, AddListener, RemoveListener, Post, RunSync and the TEST_
// hooks may be called from any thread; everything else runs on the I/O thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "backoff.h"
#include "coord.pb.h"
#include "coord/client/client.h"
#include "coord/status.h"

namespace coord::client_internal {

using Clock = std::chrono::steady_clock;

// now + d, saturating: a duration of a year or more (e.g. Duration::max()) means
// no deadline (time_point::max()), so no addition overflows.
inline Clock::time_point DeadlineAfter(std::chrono::milliseconds d) {
  if (d >= std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + std::max(d, std::chrono::milliseconds(0));
}

// Runs on the I/O thread with the final outcome and the epoch of the connection
// the reply came on (0 when there was none).
using IoCallback = std::function<void(Result<coord::v1::Response>, uint64_t epoch)>;

// Stream owners (Watch, Lock, Election, Session...) listen to pushed messages and
// to connection changes. Every function runs on the I/O thread, may be empty.
struct Listener {
  std::function<void(const coord::v1::ServerMessage&, uint64_t epoch)> on_push;
  // On registration if connected, then on every new connection.
  std::function<void(uint64_t epoch)> on_connected;
  std::function<void(uint64_t epoch)> on_disconnected;
};

struct CallOptions {
  // Non-zero: send only on this connection; fail with kUnavailable if it is not
  // (or no longer) the current one. For requests that create per-connection streams.
  uint64_t bound_epoch = 0;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  // `tls` null: plain WebSocket.
  Core(ClientOptions options, std::vector<std::string> endpoints, Executor* executor,
       std::shared_ptr<boost::asio::ssl::context> tls);
  ~Core();

  void Start();
  // Fails every call with kAborted, closes the connection, stops and joins the
  // thread. Idempotent. Not from the I/O thread.
  void Shutdown();

  // Starts a call (body required). `done` runs once on the I/O thread.
  void Submit(coord::v1::Request request, Clock::time_point deadline, IoCallback done,
              CallOptions call_options = {});
  // Blocking form (not from the I/O thread).
  Result<coord::v1::Response> CallSync(coord::v1::Request request, Clock::time_point deadline,
                                       CallOptions call_options = {});

  uint64_t AddListener(Listener listener);
  void RemoveListener(uint64_t id);

  void Post(std::function<void()> fn);
  // Runs fn on the I/O thread and waits; inline when on it or after Shutdown.
  void RunSync(const std::function<void()>& fn);
  bool InIoThread() const;

  boost::asio::io_context& io() { return io_; }
  Executor* executor() { return executor_; }
  const ClientOptions& options() const { return options_; }
  Clock::time_point DeadlineFor(std::chrono::milliseconds timeout) const;

  int connected_endpoint() const;
  uint64_t connection_count() const;
  uint64_t current_epoch() const;  // 0 when not connected
  Status WaitConnected(Clock::time_point deadline);

  void TEST_DropNextWriteReply();
  void TEST_BreakAfterNextWriteSend();
  void TEST_StallIo(bool stall);
  void TEST_BreakConnection();
  void TEST_LoseNextWrite(coord::v1::Request::BodyCase body, bool reply);

 private:
  struct Call;
  struct Connection;
  struct Lane {
    uint64_t client_id = 0;
    uint64_t sequence = 0;
    bool busy = false;
  };

  // Connection management.
  void Connect();
  // The WebSocket upgrade, after TCP connect (and the TLS handshake when on).
  void Handshake(const std::shared_ptr<Connection>& conn);
  void OnConnected(const std::shared_ptr<Connection>& conn);
  // With credentials: sends authenticate on a fresh connection and calls
  // OnConnected when it is accepted (OnLoginReply).
  void Login(const std::shared_ptr<Connection>& conn);
  void OnLoginReply(const std::shared_ptr<Connection>& conn, const coord::v1::Response& response);
  void ConnectFailed(std::shared_ptr<Connection> conn, const std::string& why);
  void Disconnect(std::shared_ptr<Connection> conn, const std::string& why);
  void ScheduleConnect(std::chrono::milliseconds delay);
  void DoRead(const std::shared_ptr<Connection>& conn);
  void OnFrame(const std::shared_ptr<Connection>& conn, std::string data);
  void Enqueue(const std::shared_ptr<Connection>& conn, std::string frame, bool break_after);
  void DoWrite(const std::shared_ptr<Connection>& conn);

  // Calls.
  void StartCall(std::unique_ptr<Call> call);
  void TryAssignLane(Call* call);
  void Send(Call* call);
  void SendUnsent();
  void OnResponse(coord::v1::Response response);
  void Finish(uint64_t key, Result<coord::v1::Response> result);
  void RetryLater(uint64_t key, std::chrono::milliseconds delay);

  const ClientOptions options_;
  const std::vector<std::string> endpoints_;
  Executor* const executor_;
  const std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<std::thread::id> io_thread_id_;

  // I/O-thread state.
  std::shared_ptr<Connection> conn_;  // the current connection (maybe connecting)
  bool connected_ = false;
  int next_endpoint_ = 0;
  int attempts_in_round_ = 0;
  Backoff backoff_;
  boost::asio::steady_timer reconnect_timer_;
  bool stopped_ = false;
  uint64_t next_key_ = 1;
  uint64_t next_wire_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Call>> calls_;  // by key
  std::map<uint64_t, uint64_t> in_flight_;           // wire id -> key
  std::deque<uint64_t> lane_waiters_;                // keys of writes waiting for a lane
  std::vector<Lane> lanes_;
  // With a lane's client id, its 128-bit exactly-once identity. Drawn from
  // std::random_device for every Core, whatever client_id_base and random_seed
  // say: those may repeat across processes and restarts, the incarnation not.
  uint64_t incarnation_ = 0;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_listener_ = 1;
  // The token of the last login (ClientOptions::token at first): presented by
  // the next connection; cleared when refused, so the password is used.
  std::string token_;
  bool test_drop_next_write_reply_ = false;
  bool test_break_after_next_write_ = false;
  // TEST_LoseNextWrite: the next write with this body loses its request (never
  // sent) or its reply (dropped on arrival); the connection stays up.
  coord::v1::Request::BodyCase test_lose_body_ = coord::v1::Request::BODY_NOT_SET;
  bool test_lose_reply_ = false;
  uint64_t test_lost_reply_wire_ = 0;
  bool stalled_ = false;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable connected_cv_;
  int connected_endpoint_ = -1;  // guarded by mu_
  uint64_t epoch_ = 0;           // guarded by mu_ (written on the I/O thread)
  uint64_t connections_ = 0;     // guarded by mu_
  bool shut_down_ = false;       // guarded by mu_
};

struct Core::Call {
  explicit Call(boost::asio::io_context& io) : timer(io), retry_timer(io) {}
  uint64_t key = 0;
  coord::v1::Request request;
  Clock::time_point deadline;
  IoCallback done;
  CallOptions opts;
  bool write = false;
  int lane = -1;
  uint64_t sequence = 0;
  bool sent = false;
  uint64_t wire_id = 0;
  uint64_t sent_epoch = 0;
  bool retry_pending = false;
  bool auth_retried = false;  // resent once after an UNAUTHENTICATED reply
  int unavailable_count = 0;
  boost::asio::steady_timer timer;
  boost::asio::steady_timer retry_timer;
};

struct Core::Connection {
  using Plain = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using Tls =
      boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

  Connection(boost::asio::io_context& io, boost::asio::ssl::context* tls)
      : resolver(io),
        ws(tls == nullptr ? std::variant<Plain, Tls>(std::in_place_type<Plain>, io)
                          : std::variant<Plain, Tls>(std::in_place_type<Tls>, io, *tls)) {}
  // Calls f(ws) with the WebSocket stream of either kind.
  template <class F>
  decltype(auto) Visit(F&& f) {
    return std::visit(std::forward<F>(f), ws);
  }
  boost::beast::tcp_stream& lowest_layer() {
    return std::visit(
        [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); }, ws);
  }

  int endpoint = 0;
  std::string host;
  std::string port;
  boost::asio::ip::tcp::resolver resolver;
  std::variant<Plain, Tls> ws;
  boost::beast::flat_buffer buffer;
  struct Out {
    std::string data;
    bool break_after = false;
  };
  std::deque<Out> outbox;
  bool writing = false;
  bool reading = false;
  bool open = false;
  bool closed = false;
  uint64_t epoch = 0;
  bool logging_in = false;        // authenticate sent, reply not yet in
  bool presented_token = false;  // that authenticate carried a token
  std::deque<std::string> held;  // frames read while stalled (TEST_StallIo)
};

}  // namespace coord::client_internal
