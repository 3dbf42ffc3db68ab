// Test helpers for the node driver: an in-process fake Transport, a recording
// StateMachine, waiting with deadlines, and a small cluster harness.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "coord/consensus/node.h"
#include "coord/consensus/storage.h"
#include "coord/consensus/transport.h"

namespace coord::raft::testing {

using namespace std::chrono_literals;

// Polls `predicate` until it holds or `timeout` passes; returns its last value.
// (Waiting on a condition with a deadline, not sleeping for a guessed time.)
bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);

// ---- Fake network ----------------------------------------------------------

// Delivers messages synchronously from the sender's thread to the receiver's
// handler (which only enqueues, as the Transport contract requires). Links can be
// cut to simulate partitions; a stopped endpoint receives nothing.
class FakeNetwork {
 public:
  std::unique_ptr<Transport> NewTransport(NodeId id);

  // Drops every message to and from `id` until Heal().
  void Isolate(NodeId id);
  void Heal();

  // Addresses each endpoint was told about (AddPeer minus RemovePeer).
  std::map<NodeId, std::string> PeersOf(NodeId id) const;
  uint64_t delivered() const;

 private:
  friend class FakeTransport;
  void Register(NodeId id, Transport::Handlers handlers);
  void Unregister(NodeId id);
  void Deliver(NodeId from, pb::Message message);
  void SetPeer(NodeId self, NodeId peer, const std::string* address);

  mutable std::mutex mu_;
  std::map<NodeId, Transport::Handlers> endpoints_;
  std::set<NodeId> isolated_;
  std::map<NodeId, std::map<NodeId, std::string>> peers_;
  uint64_t delivered_ = 0;
};

// ---- State machine ---------------------------------------------------------

// Records every applied (index, data); Apply returns "ok:" + data. Snapshot
// images encode the whole record. Thread-safe reads for the test thread.
class RecordingStateMachine : public StateMachine {
 public:
  Result<std::any> Apply(Index index, const std::string& data) override;
  std::string Snapshot() override;
  Status Restore(const std::string& image) override;

  std::vector<std::string> Values() const;
  Index last_index() const;
  size_t size() const;
  uint64_t restores() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<Index, std::string>> applied_;
  uint64_t restores_ = 0;
};

// ---- Cluster harness -------------------------------------------------------

// Runs members of one cluster. Storage and transport come from factories so the
// same harness drives MemoryStorage + FakeNetwork and LevelDB + TCP. A restarted
// member gets a fresh (empty) RecordingStateMachine: the node must rebuild it
// from its storage.
class TestCluster {
 public:
  using StorageFactory = std::function<std::unique_ptr<LogStorage>(NodeId)>;
  using TransportFactory = std::function<std::unique_ptr<Transport>(NodeId)>;

  TestCluster(std::vector<NodeId> ids, NodeOptions base, StorageFactory storage,
              TransportFactory transport);
  ~TestCluster();

  // Creates and starts member `id` (again after StopMember).
  Status StartMember(NodeId id);
  Status StartAll();
  // Stops and destroys member `id`'s node (closing its storage).
  void StopMember(NodeId id);
  void StopAll();

  Node* node(NodeId id) const;
  RecordingStateMachine* sm(NodeId id) const;
  bool running(NodeId id) const;
  const std::vector<NodeId>& ids() const { return ids_; }
  NodeOptions& base_options() { return base_; }

  // Waits until every running member (other than `exclude`) sees the same leader,
  // which is one of them and is a leader itself. Returns kNoNode on timeout.
  NodeId WaitForLeader(std::chrono::milliseconds timeout, NodeId exclude = kNoNode) const;
  // Waits until every running member has applied at least `index`.
  bool WaitApplied(Index index, std::chrono::milliseconds timeout) const;

  // Proposes through member `id` and waits for the callback (up to timeout + 1 s).
  ProposeResult ProposeAndWait(NodeId id, const std::string& data,
                               std::chrono::milliseconds timeout = 3000ms);
  // Proposes through the current leader, retrying on kNotLeader until `timeout`.
  ProposeResult ProposeToLeader(const std::string& data, std::chrono::milliseconds timeout);

 private:
  std::vector<NodeId> ids_;
  NodeOptions base_;
  StorageFactory storage_factory_;
  TransportFactory transport_factory_;
  std::map<NodeId, std::unique_ptr<RecordingStateMachine>> sms_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
};

// Base options for fast tests: 10 ms ticks, election after 10-20 ticks.
NodeOptions FastOptions();

}  // namespace coord::raft::testing
