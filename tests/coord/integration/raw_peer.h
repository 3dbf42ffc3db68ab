// RawPeer: a hand-driven connection to a member's peer port, plain or TLS, for
// the tests that attack it (forged frames, wrong secrets, wrong certificates).
// Synchronous; every wait has a deadline. Plus small helpers those tests share.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cluster.h"
#include "raft.pb.h"

namespace coord::test {

class RawPeer {
 public:
  // A plain TCP connection to "host:port".
  explicit RawPeer(const std::string& address);
  // A TLS connection presenting `cert`/`key` and trusting `ca`. ok() is false
  // when the TCP connect or the TLS handshake fails (the member refused it).
  RawPeer(const std::string& address, const std::string& cert, const std::string& key,
          const std::string& ca);
  bool ok() const { return ok_; }

  bool Write(const std::string& bytes);
  bool WriteFrame(const raft::pb::PeerFrame& frame);
  // Reads the member's challenge and answers as `from` with `secret`.
  bool Handshake(uint64_t from, uint64_t to, uint64_t cluster_id, const std::string& secret);
  // True when the member closes the connection within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout);

 private:
  using Tls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  bool Connect(const std::string& address);
  template <class F>
  decltype(auto) WithStream(F&& f) {
    return tls_ ? f(*tls_) : f(socket_);
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;  // plain, or the layer under tls_
  std::unique_ptr<boost::asio::ssl::context> context_;
  std::optional<Tls> tls_;
  bool ok_ = false;
};

raft::pb::PeerFrame Heartbeat(uint64_t from, uint64_t to, uint64_t cluster_id, uint64_t term);
// Member i's id (derived from its name).
uint64_t IdOf(const Ensemble& e, int i);
// The Raft term member i reports; 0 when it does not answer.
uint64_t TermOf(const Ensemble& e, int i);
// A put through member i succeeds (fails the test otherwise).
void ExpectWritable(const Ensemble& e, int member, const std::string& key);

}  // namespace coord::test
