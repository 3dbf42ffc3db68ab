// RaftHost: the seam between the API server and the Raft node. The server asks
// for exactly these things of consensus — propose a command or a membership
// change with a deadline, wait for a linearizable read point, hand leadership
// over, send an application payload to a peer, read the node's status — and
// nothing else, so its parts can be unit-tested against a fake host
// (tests/coord/server/fake_raft_host.h) that completes requests when and how a
// test says, without a log, a disk or a socket.
//
// Contracts are raft::Node's (consensus/include/coord/consensus/node.h): every
// callback runs exactly once, possibly inline, possibly on another thread; a
// ProposeResult says whether a failed entry may still be applied.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <string>

#include "coord/consensus/node.h"

namespace coord::server {

class RaftHost {
 public:
  using Clock = std::chrono::steady_clock;
  using ProposeCallback = raft::Node::ProposeCallback;
  using ReadCallback = raft::Node::ReadCallback;
  using DoneCallback = raft::Node::DoneCallback;

  virtual ~RaftHost() = default;

  // Proposes `data` (an encoded state Command); `done` gets how it ended.
  virtual void Propose(std::string data, Clock::time_point deadline, ProposeCallback done) = 0;
  // Proposes a membership change; completes once it is applied (or failed).
  virtual void ProposeConfChange(raft::pb::ConfChange change, Clock::time_point deadline,
                                 ProposeCallback done) = 0;
  // A linearizable read point: OK once the local state reflects every write
  // committed before the call.
  virtual void ReadIndex(Clock::time_point deadline, ReadCallback done) = 0;
  // Asks the leader to hand leadership to `target`; OK means it started.
  virtual void TransferLeadership(raft::NodeId target, DoneCallback done) = 0;
  // Best effort: a payload to member `to` (OnPeerPayload on its side).
  virtual void SendApp(raft::NodeId to, std::string payload) = 0;
  virtual raft::NodeStatus GetStatus() const = 0;
};

// The production host: forwards every call to a raft::Node (borrowed; it must
// outlive the host).
class NodeRaftHost final : public RaftHost {
 public:
  explicit NodeRaftHost(raft::Node* node) : node_(node) {}

  void Propose(std::string data, Clock::time_point deadline, ProposeCallback done) override {
    node_->Propose(std::move(data), deadline, std::move(done));
  }
  void ProposeConfChange(raft::pb::ConfChange change, Clock::time_point deadline,
                         ProposeCallback done) override {
    node_->ProposeConfChange(std::move(change), deadline, std::move(done));
  }
  void ReadIndex(Clock::time_point deadline, ReadCallback done) override {
    node_->ReadIndex(deadline, std::move(done));
  }
  void TransferLeadership(raft::NodeId target, DoneCallback done) override {
    node_->TransferLeadership(target, std::move(done));
  }
  void SendApp(raft::NodeId to, std::string payload) override {
    node_->SendApp(to, std::move(payload));
  }
  raft::NodeStatus GetStatus() const override { return node_->GetStatus(); }

 private:
  raft::Node* node_;
};

}  // namespace coord::server
