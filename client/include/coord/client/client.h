// coord::Client: the connection to a Coord ensemble.
//
//   coord::ClientOptions options;
//   options.endpoints = "127.0.0.1:7420,127.0.0.2:7420,127.0.0.3:7420";
//   auto client = coord::Client::Create(options);            // never blocks
//   if (!client.ok()) return client.status();                  // bad options only
//   auto put = (*client)->Put("/cfg/a", "1");                  // Result<PutResponse>
//   auto kv = (*client)->Get("/cfg/a");                        // Result<optional<KeyValue>>
//
// Model. One background I/O thread runs one WebSocket connection (binary protobuf
// frames, path /v1/ws) to one member at a time; every member serves every request
// (followers forward writes), so the client never chases the leader. Requests are
// pipelined and matched to replies by Request.id. When the connection breaks or
// cannot be made, the client reconnects to the NEXT endpoint of the list (round
// robin) with exponential back-off and jitter (options below); requests waiting
// for a connection, and requests whose reply was lost, are sent again on the new
// connection until their deadline.
//
// Deadlines. Every call has a deadline (the `timeout` argument; zero means
// options.default_timeout). The server is told the remaining time
// (Request.timeout_ms, at most half of it per attempt so a stuck member leaves
// time for another) and a local timer ends the call with kTimeout at the
// deadline. Nothing waits longer than its deadline.
//
// Exactly-once writes. Writes (put, delete, txn, compact, session
// create/keepalive/close, lock acquire/release/revoke, election
// campaign/resign/proclaim, tpc begin/vote/ack, topic_commit_offset,
// topic_trim) carry
// (client_id, client_incarnation, sequence). The server remembers only the LAST
// sequence per lane (client_id, client_incarnation), so the client keeps a pool
// of `write_lanes` ids (a random 64-bit base + lane number, all with this
// Client's random incarnation); a write takes a free lane and the lane's next
// sequence, and holds the lane until its final outcome. A write whose reply was lost (connection broke,
// or the server answered UNAVAILABLE "not applied" or TIMEOUT "may have been
// applied" before the deadline) is re-sent with the SAME (client_id, sequence) and
// is therefore applied at most once; the retry returns the original result. With
// all lanes busy a write waits for one (within its deadline). Reads are simply
// retried. A write that finally fails with kUnavailable from the server was not
// applied; with kTimeout it may or may not have been.
//
// Errors: see coord/client/error.h (the server's codes as StatusCode).
//
// Callbacks: async callbacks run on the client's Executor (executor.h), one at a
// time, in the order their replies / events arrived.
//
// Thread-safety: every method may be called from any thread, concurrently; the
// blocking methods must not be called from the I/O thread (they are never given
// to you there) — they MAY be called from executor callbacks, but then wait
// without running other callbacks. The Client must outlive every Session, Lock,
// Election, ElectionObserver, Watch created on it.
//
// Status: the API is settling; small additions are possible (marked "may change").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coord.pb.h"
#include "coord/client/error.h"
#include "coord/client/executor.h"
#include "coord/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace coord {

namespace client_internal {
class Core;
}  // namespace client_internal

struct ClientOptions {
  // "host:port,host:port,..." (at least one). IPv4 literals or names. Required.
  std::string endpoints;
  // Deadline of a call given timeout zero.
  std::chrono::milliseconds default_timeout{5000};
  // TCP connect + WebSocket handshake limit of one connection attempt.
  std::chrono::milliseconds connect_timeout{1000};
  // Reconnect back-off: the first retry waits about `backoff_initial`, each
  // consecutive failure doubles it up to `backoff_max`; each wait is jittered
  // uniformly in [wait/2, wait]. A successful connection resets it. The first
  // attempt at each OTHER endpoint after a broken connection is immediate.
  std::chrono::milliseconds backoff_initial{20};
  std::chrono::milliseconds backoff_max{1000};
  // A connection that receives nothing for this long (the client pings it after
  // half of it) is dropped and the next endpoint is tried: this detects a frozen
  // member (SIGSTOP, half-open TCP). Keep it below default_timeout.
  std::chrono::milliseconds idle_timeout{4000};
  // Number of exactly-once lanes = writes in flight at once (1..1024).
  int write_lanes = 32;
  // Base client id of the lanes; 0 = random (recommended). Lane i uses base + i.
  // Two processes with the same base never share a lane: every Client also draws
  // a 64-bit incarnation from std::random_device (never from random_seed) that
  // the server keys its exactly-once table by, with the client id.
  uint64_t client_id_base = 0;
  // Seed of the jitter / random base; 0 = from std::random_device.
  uint64_t random_seed = 0;

  // TLS (wss://), on when `tls` is true or ca_file is set. The member's
  // certificate must chain to ca_file (empty: the system's CAs) and name the
  // endpoint's host: its DNS name, or its IP address as an IP SAN. A handshake
  // that fails (untrusted or misnamed certificate, a plaintext member) fails the
  // connection attempt like any other; calls end with kUnavailable or kTimeout.
  bool tls = false;
  std::string ca_file{};
  // A client certificate and its key (PEM), for members that require one.
  std::string cert_file{};
  std::string key_file{};
  bool tls_enabled() const { return tls || !ca_file.empty(); }

  // Authentication, for ensembles with auth enabled (docs/security.md). With
  // `user` and `password`, every connection logs in before its first request and
  // keeps the token it gets; later connections present that token and fall back
  // to the password once it is refused. With `token` alone, the connection
  // presents it. A request refused UNAUTHENTICATED (the login expired, the
  // password changed) is retried once on a new, freshly logged-in connection; it
  // was certainly not applied. A login refused for good (wrong password) fails the
  // calls waiting for a connection with kUnauthenticated. Against an ensemble
  // without auth the credentials are not used.
  std::string user{};
  std::string password{};
  std::string token{};
  bool auth_enabled() const { return !token.empty() || (!user.empty() && !password.empty()); }
};

class Client {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;
  using ResponseCallback = std::function<void(Result<coord::v1::Response>)>;

  // Validates `options` and starts the I/O and executor threads; connects in the
  // background (the first call waits for the connection within its deadline).
  // Errors: kInvalidArgument (no endpoints, bad "host:port", bad write_lanes, a
  // TLS file that cannot be read or a certificate without its key).
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);

  // Fails every pending call with kAborted, closes the connection, runs the
  // callbacks already queued on the executor, then joins both threads. Do not
  // destroy a Client from one of its own callbacks.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ---- Generic calls -------------------------------------------------------------

  // Sends `request` (any body; id, client_id, sequence and timeout_ms are set by the
  // client and overwritten) and waits for its reply. Returns the Response when its
  // error code is OK, else the mapped Status. Errors: kInvalidArgument (no body),
  // server codes, kTimeout (deadline), kUnavailable, kAborted (client shutting down).
  Result<coord::v1::Response> Call(coord::v1::Request request, Duration timeout = Duration(0));

  // The same, asynchronous: `done` runs exactly once on the executor.
  void CallAsync(coord::v1::Request request, ResponseCallback done, Duration timeout = Duration(0));

  // True for the bodies sent with exactly-once (client_id, sequence).
  static bool IsWrite(const coord::v1::Request& request);

  // ---- Typed helpers (blocking) -------------------------------------------------

  Result<coord::v1::PutResponse> Put(const std::string& key, const std::string& value,
                                     int64_t session = 0, Duration timeout = Duration(0));
  Result<coord::v1::PutResponse> Put(const coord::v1::PutRequest& put,
                                     Duration timeout = Duration(0));
  // One key, linearizable. Absent key -> std::nullopt (not an error).
  Result<std::optional<coord::v1::KeyValue>> Get(const std::string& key,
                                                 Duration timeout = Duration(0));
  // Any range read (prefix, range_end, revision, serializable, limit...). The
  // response header (revision it reflects) is in RangeResult.
  struct RangeResult {
    coord::v1::RangeResponse range;
    coord::v1::ResponseHeader header;
  };
  Result<RangeResult> Range(const coord::v1::RangeRequest& range, Duration timeout = Duration(0));
  Result<coord::v1::DeleteResponse> Delete(const coord::v1::DeleteRequest& del,
                                           Duration timeout = Duration(0));
  Result<coord::v1::DeleteResponse> Delete(const std::string& key, bool prefix = false,
                                           Duration timeout = Duration(0));
  Result<coord::v1::TxnResponse> Txn(const coord::v1::TxnRequest& txn,
                                     Duration timeout = Duration(0));
  Result<coord::v1::CompactResponse> Compact(int64_t revision, Duration timeout = Duration(0));

  // ---- Introspection ----------------------------------------------------------------

  const ClientOptions& options() const { return options_; }
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  Executor& executor() { return *executor_; }
  // Index into endpoints() of the member connected now, -1 when not connected.
  int connected_endpoint() const;
  // Waits until connected (or the timeout). Errors: kUnavailable.
  Status WaitConnected(Duration timeout);
  // Number of connections established so far (1 after the first connect).
  uint64_t connection_count() const;

  // ---- Test hooks (named TEST_; not for production) ---------------------------------

  // Drop the reply frame of the next write whose reply arrives (as if lost in the
  // network), then break the connection: the write must be retried exactly-once.
  void TEST_DropNextWriteReply();
  // Close the current connection right after the next write request is sent
  // (before its reply can be read).
  void TEST_BreakAfterNextWriteSend();
  // Stall all I/O: stop reading frames and hold outgoing frames (as if the
  // network to the member were blocked; the TCP connection stays open).
  // Stall(false) resumes.
  void TEST_StallIo(bool stall);
  // Break the current connection now (the client reconnects as usual).
  void TEST_BreakConnection();
  // The next write whose body is `body` vanishes while the connection stays up:
  // its request is never sent (reply=false) or its reply is dropped on arrival
  // (reply=true, so the ensemble applied it). The call ends at its deadline with
  // kTimeout, an unknown outcome.
  void TEST_LoseNextWrite(coord::v1::Request::BodyCase body, bool reply);

 private:
  friend class Session;
  friend class Lock;
  friend class Election;
  friend class ElectionObserver;
  friend class Watch;
  friend class Transaction;
  friend class Participant;

  Client(ClientOptions options, std::vector<std::string> endpoints,
         std::shared_ptr<boost::asio::ssl::context> tls);

  ClientOptions options_;
  std::vector<std::string> endpoints_;
  std::unique_ptr<Executor> executor_;
  std::shared_ptr<client_internal::Core> core_;
};

// Splits "h:p,h:p" into addresses. Errors: kInvalidArgument naming the bad item.
Result<std::vector<std::string>> ParseEndpoints(const std::string& endpoints);

}  // namespace coord
