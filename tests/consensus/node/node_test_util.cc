#include "consensus/node/node_test_util.h"

#include <future>
#include <utility>

namespace coord::raft::testing {

bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return predicate();
    std::this_thread::sleep_for(2ms);  // poll interval, not a guess at timing
  }
  return true;
}

NodeOptions FastOptions() {
  NodeOptions options;
  options.tick_interval = 10ms;
  options.raft.election_tick = 10;
  options.raft.heartbeat_tick = 1;
  options.default_timeout = 3000ms;
  return options;
}

// ---- FakeNetwork -------------------------------------------------------------

class FakeTransport : public Transport {
 public:
  FakeTransport(FakeNetwork* network, NodeId id) : network_(network), id_(id) {}
  ~FakeTransport() override { Stop(); }

  Status Start(Handlers handlers) override {
    if (started_) return Status::Aborted("fake transport started twice");
    started_ = true;
    network_->Register(id_, std::move(handlers));
    return Status::Ok();
  }
  void Stop() override {
    if (started_) network_->Unregister(id_);
  }
  void AddPeer(NodeId id, std::string address) override { network_->SetPeer(id_, id, &address); }
  void RemovePeer(NodeId id) override { network_->SetPeer(id_, id, nullptr); }
  void Send(pb::Message message) override { network_->Deliver(id_, std::move(message)); }
  void SendApp(NodeId, std::string) override {}

 private:
  FakeNetwork* network_;
  NodeId id_;
  bool started_ = false;
};

std::unique_ptr<Transport> FakeNetwork::NewTransport(NodeId id) {
  return std::make_unique<FakeTransport>(this, id);
}

void FakeNetwork::Register(NodeId id, Transport::Handlers handlers) {
  std::lock_guard lock(mu_);
  endpoints_[id] = std::move(handlers);
}

void FakeNetwork::Unregister(NodeId id) {
  // Takes mu_, so it waits for a delivery to `id` in progress: no handler of a
  // stopped transport runs after Stop returns.
  std::lock_guard lock(mu_);
  endpoints_.erase(id);
}

void FakeNetwork::SetPeer(NodeId self, NodeId peer, const std::string* address) {
  std::lock_guard lock(mu_);
  if (address) {
    peers_[self][peer] = *address;
  } else {
    peers_[self].erase(peer);
  }
}

void FakeNetwork::Deliver(NodeId from, pb::Message message) {
  std::lock_guard lock(mu_);
  if (isolated_.count(from) || isolated_.count(message.to())) return;
  if (!endpoints_.count(from)) return;  // a stopped sender sends nothing
  auto it = endpoints_.find(message.to());
  if (it == endpoints_.end()) return;
  ++delivered_;
  it->second.on_message(std::move(message));
}

void FakeNetwork::Isolate(NodeId id) {
  std::lock_guard lock(mu_);
  isolated_.insert(id);
}

void FakeNetwork::Heal() {
  std::lock_guard lock(mu_);
  isolated_.clear();
}

std::map<NodeId, std::string> FakeNetwork::PeersOf(NodeId id) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? std::map<NodeId, std::string>{} : it->second;
}

uint64_t FakeNetwork::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

// ---- RecordingStateMachine ---------------------------------------------------

namespace {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetU64(const std::string& in, size_t* pos, uint64_t* v) {
  if (in.size() - *pos < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) {
    *v |= static_cast<uint64_t>(static_cast<unsigned char>(in[*pos + i])) << (8 * i);
  }
  *pos += 8;
  return true;
}

}  // namespace

Result<std::any> RecordingStateMachine::Apply(Index index, const std::string& data) {
  std::lock_guard lock(mu_);
  applied_.emplace_back(index, data);
  return std::any(std::string("ok:") + data);
}

std::string RecordingStateMachine::Snapshot() {
  std::lock_guard lock(mu_);
  std::string image;
  PutU64(&image, applied_.size());
  for (const auto& [index, data] : applied_) {
    PutU64(&image, index);
    PutU64(&image, data.size());
    image += data;
  }
  return image;
}

Status RecordingStateMachine::Restore(const std::string& image) {
  std::vector<std::pair<Index, std::string>> applied;
  size_t pos = 0;
  uint64_t count = 0;
  if (!GetU64(image, &pos, &count)) return Status::Corruption("test image: no count");
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t index = 0;
    uint64_t len = 0;
    if (!GetU64(image, &pos, &index) || !GetU64(image, &pos, &len) || image.size() - pos < len) {
      return Status::Corruption("test image: truncated");
    }
    applied.emplace_back(index, image.substr(pos, len));
    pos += len;
  }
  std::lock_guard lock(mu_);
  applied_ = std::move(applied);
  ++restores_;
  return Status::Ok();
}

std::vector<std::string> RecordingStateMachine::Values() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [index, data] : applied_) out.push_back(data);
  return out;
}

Index RecordingStateMachine::last_index() const {
  std::lock_guard lock(mu_);
  return applied_.empty() ? 0 : applied_.back().first;
}

size_t RecordingStateMachine::size() const {
  std::lock_guard lock(mu_);
  return applied_.size();
}

uint64_t RecordingStateMachine::restores() const {
  std::lock_guard lock(mu_);
  return restores_;
}

// ---- TestCluster --------------------------------------------------------------

TestCluster::TestCluster(std::vector<NodeId> ids, NodeOptions base, StorageFactory storage,
                         TransportFactory transport)
    : ids_(std::move(ids)),
      base_(std::move(base)),
      storage_factory_(std::move(storage)),
      transport_factory_(std::move(transport)) {
  base_.raft.peers = ids_;
}

TestCluster::~TestCluster() { StopAll(); }

Status TestCluster::StartMember(NodeId id) {
  NodeOptions options = base_;
  options.raft.id = id;
  auto sm = std::make_unique<RecordingStateMachine>();
  auto node = Node::Create(options, storage_factory_(id), transport_factory_(id), sm.get());
  if (!node.ok()) return node.status();
  Status s = (*node)->Start();
  if (!s.ok()) return s;
  sms_[id] = std::move(sm);
  nodes_[id] = std::move(*node);
  return Status::Ok();
}

Status TestCluster::StartAll() {
  for (NodeId id : ids_) {
    Status s = StartMember(id);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

void TestCluster::StopMember(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  it->second->Stop();
  nodes_.erase(it);  // closes the storage; the state machine stays for inspection
}

void TestCluster::StopAll() {
  for (NodeId id : ids_) StopMember(id);
}

Node* TestCluster::node(NodeId id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

RecordingStateMachine* TestCluster::sm(NodeId id) const {
  auto it = sms_.find(id);
  return it == sms_.end() ? nullptr : it->second.get();
}

bool TestCluster::running(NodeId id) const { return nodes_.count(id) > 0; }

NodeId TestCluster::WaitForLeader(std::chrono::milliseconds timeout, NodeId exclude) const {
  NodeId found = kNoNode;
  WaitFor(
      [&] {
        found = kNoNode;
        NodeId agreed = kNoNode;
        for (const auto& [id, node] : nodes_) {
          if (id == exclude) continue;
          const NodeStatus s = node->GetStatus();
          if (s.leader == kNoNode || (agreed != kNoNode && s.leader != agreed)) return false;
          agreed = s.leader;
        }
        auto it = nodes_.find(agreed);
        if (agreed == kNoNode || agreed == exclude || it == nodes_.end()) return false;
        if (it->second->GetStatus().raft.role != Role::kLeader) return false;
        found = agreed;
        return true;
      },
      timeout);
  return found;
}

bool TestCluster::WaitApplied(Index index, std::chrono::milliseconds timeout) const {
  return WaitFor(
      [&] {
        for (const auto& [id, node] : nodes_) {
          if (node->GetStatus().applied < index) return false;
        }
        return true;
      },
      timeout);
}

ProposeResult TestCluster::ProposeAndWait(NodeId id, const std::string& data,
                                          std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<ProposeResult>>();
  auto future = promise->get_future();
  node(id)->Propose(data, Node::Clock::now() + timeout,
                    [promise](ProposeResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout + 1000ms) != std::future_status::ready) {
    return ProposeResult{Status::Internal("callback never ran"), 0, {}, kNoNode};
  }
  return future.get();
}

ProposeResult TestCluster::ProposeToLeader(const std::string& data,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ProposeResult last{Status::Timeout("no leader"), 0, {}, kNoNode};
  while (std::chrono::steady_clock::now() < deadline) {
    NodeId leader = WaitForLeader(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (leader == kNoNode) break;
    last = ProposeAndWait(leader, data, 2000ms);
    if (last.status.code() != StatusCode::kNotLeader) return last;
  }
  return last;
}

}  // namespace coord::raft::testing
