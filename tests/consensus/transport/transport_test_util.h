// Helpers for the transport tests: an inbox that records what a transport
// delivers and waits on it with a deadline, a node bundling a TcpTransport with
// its inbox, and a raw TCP client/server for speaking (or breaking) the wire
// format by hand. No fixed sleeps: every wait is a condition with a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "coord/consensus/tcp_transport.h"

namespace coord::raft::testing {

using namespace std::chrono_literals;

// Generous: only reached when a test fails, and the machine is shared.
inline constexpr std::chrono::milliseconds kWait = 10s;

// Polls `predicate` until it holds or `timeout` passes. For state without a
// condition variable (counters); short naps between polls, never a fixed wait.
inline bool PollUntil(const std::function<bool()>& predicate,
                      std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Records deliveries. Thread-safe; the transport's I/O thread writes, the test
// thread waits and reads.
class Inbox {
 public:
  struct App {
    NodeId from;
    std::string payload;
  };

  Transport::Handlers Handlers() {
    Transport::Handlers h;
    h.on_message = [this](pb::Message m) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back("m" + std::to_string(m.index()));
      messages_.push_back(std::move(m));
      cv_.notify_all();
    };
    h.on_app = [this](NodeId from, std::string payload) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back("a" + payload.substr(0, 16));
      apps_.push_back({from, std::move(payload)});
      cv_.notify_all();
    };
    h.on_unreachable = [this](NodeId id) {
      std::lock_guard<std::mutex> lock(mu_);
      unreachable_.push_back(id);
      cv_.notify_all();
    };
    return h;
  }

  // Waits until `predicate` holds. It is called with the inbox's lock held, so it
  // must not call the inbox's accessors.
  bool WaitUntil(const std::function<bool()>& predicate,
                 std::chrono::milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, predicate);
  }
  bool WaitMessages(size_t n) {
    return WaitUntil([&] { return messages_.size() >= n; });
  }
  bool WaitApps(size_t n) {
    return WaitUntil([&] { return apps_.size() >= n; });
  }
  bool WaitLog(size_t n) {
    return WaitUntil([&] { return log_.size() >= n; });
  }
  bool WaitUnreachable(NodeId id) {
    return WaitUntil([&] {
      for (NodeId u : unreachable_) {
        if (u == id) return true;
      }
      return false;
    });
  }

  std::vector<pb::Message> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::vector<App> apps() {
    std::lock_guard<std::mutex> lock(mu_);
    return apps_;
  }
  // Arrival order of everything: "m<index>" for messages, "a<payload>" for apps.
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pb::Message> messages_;
  std::vector<App> apps_;
  std::vector<NodeId> unreachable_;
  std::vector<std::string> log_;
};

inline TcpTransportOptions Options(NodeId id, const std::string& host = "127.0.0.1",
                                   uint16_t port = 0) {
  TcpTransportOptions o;
  o.self_id = id;
  o.listen_address = host + ":" + std::to_string(port);
  o.reconnect_initial = 10ms;
  o.reconnect_max = 100ms;
  return o;
}

// A started transport and its inbox. The inbox outlives the transport.
struct Node {
  Inbox inbox;
  std::unique_ptr<TcpTransport> transport;

  explicit Node(TcpTransportOptions options)
      : transport(std::make_unique<TcpTransport>(std::move(options))) {}
  Status Start() { return transport->Start(inbox.Handlers()); }
  std::string address() const { return transport->listen_address(); }
};

// Returns a started node or fails the calling test.
std::unique_ptr<Node> StartNode(TcpTransportOptions options);

pb::Message MakeMessage(NodeId from, NodeId to, uint64_t index,
                        pb::MessageType type = pb::MSG_APPEND);

// A loopback port that nothing listens on (bound then released).
uint16_t UnusedPort(const std::string& host = "127.0.0.1");

// A hand-driven TCP client: writes raw bytes, and tells when the server closed.
class RawClient {
 public:
  // Connects or fails the test (check ok()).
  explicit RawClient(const std::string& host, uint16_t port);
  bool ok() const { return connected_; }
  bool Write(const std::string& bytes);
  // Reads one frame (blocking); nullopt on a closed connection or a bad frame.
  std::optional<pb::PeerFrame> ReadFrame();
  // The connecting side of the handshake: reads the challenge and answers with
  // a hello from `from` to `to`, proven with `secret` (false if no challenge).
  bool Handshake(NodeId from, NodeId to, uint64_t cluster_id, const std::string& secret);
  // True when the server closes (EOF or reset) within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout = kWait);

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  bool connected_ = false;
};

// A hello frame answering `nonce` (what a member sends after the challenge).
pb::PeerFrame HelloFrame(NodeId from, NodeId to, uint64_t cluster_id, const std::string& secret,
                         const std::string& nonce);

// Encodes a frame by hand (independently of the transport's encoder).
std::string RawFrame(const std::string& body);
std::string RawFrame(const pb::PeerFrame& frame);

}  // namespace coord::raft::testing
