// BenchClient: one closed-loop client on its own WebSocket connection.
//
// It connects to an endpoint, then loops: ask the workload for a request, send it
// as a binary frame, wait for the Response with its id, record an OpRecord, repeat.
// An operation may take several requests and pushed messages (the workload's
// OnReply/OnPush steps, e.g. lock: acquire, wait for the grant, release); its
// record spans the first request to the last reply.
// A non-OK reply is a failed operation; a dropped connection or a reply later than
// the request's deadline + 2 s fails the operation in flight, and the client
// reconnects to the next endpoint (round-robin) and continues. It stops (closing
// its connection) once the stop time has passed or the workload has nothing left.
//
// Thread-safety: all work runs on the io_context given at construction, which one
// thread runs; the records may be read only after that thread has stopped.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "report.h"
#include "workload.h"

namespace coord::bench {

using Clock = std::chrono::steady_clock;

// What all clients of one run share (read-only for them, except the counters).
struct RunShared {
  Clock::time_point epoch;                   // OpRecord times are relative to it
  std::atomic<int64_t> stop_ns{INT64_MAX};   // stop issuing at or after this
  std::atomic<int> connected{0};             // clients that connected at least once
  std::atomic<int> finished{0};              // clients that stopped
  std::atomic<int64_t> connect_failures{0};  // failed connection attempts
  std::function<void()> notify;              // called after connected/finished change
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch).count();
  }
};

struct ClientConfig {
  int index = 0;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
  size_t first_endpoint = 0;
  uint32_t timeout_ms = 5000;
  uint64_t client_id = 0;  // exactly-once id for writes (non-zero)
  uint64_t seed = 0;
};

class BenchClient : public std::enable_shared_from_this<BenchClient> {
 public:
  BenchClient(boost::asio::io_context& io, ClientConfig config, Workload* workload,
              RunShared* shared);
  // Starts connecting; returns at once.
  void Start();
  // Every operation this client completed or failed, in order.
  const std::vector<OpRecord>& records() const { return records_; }

 private:
  using WebSocket = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  void Connect();
  void OnConnect(boost::beast::error_code ec);
  void OnHandshake(boost::beast::error_code ec);
  void RetryConnect();
  void Issue();
  void OnWrite(boost::beast::error_code ec);
  void OnRead(boost::beast::error_code ec);
  void ReadNext();
  // Guards the wait for a reply or a pushed message: when it passes, the
  // connection is closed (pending I/O fails, the operation fails).
  void ArmGuard();
  // Ends the operation (possibly several requests): records it, tells the workload.
  void Complete(bool ok);
  // The connection broke: fails the operation in flight, reconnects elsewhere.
  void OnBroken();
  void Finish();

  boost::asio::io_context& io_;
  const ClientConfig config_;
  Workload* const workload_;
  RunShared* const shared_;
  ClientContext context_;
  std::optional<WebSocket> ws_;  // re-created per connection, when no I/O is pending
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer timer_;  // request guard, or connect back-off
  size_t endpoint_ = 0;
  bool ever_connected_ = false;
  bool finished_ = false;
  uint64_t sequence_ = 0;      // last exactly-once sequence used
  uint64_t next_id_ = 1;       // request ids on this client
  uint64_t in_flight_id_ = 0;  // 0: no request in flight
  bool waiting_ = false;       // the operation waits for a pushed message
  bool op_open_ = false;       // an operation started and has not completed
  bool op_untimed_ = false;    // its first request was bookkeeping (ClientContext)
  uint64_t guard_seq_ = 0;     // identifies the armed guard
  int64_t start_ns_ = 0;       // when the operation's first request was sent
  std::string frame_;  // the request being written (must outlive async_write)
  std::vector<OpRecord> records_;
};

}  // namespace coord::bench
