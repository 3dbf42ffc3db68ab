#include "test_network.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace coord::raft::testing {

Config TestNetwork::DefaultConfig() {
  Config c;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.pre_vote = true;
  c.check_quorum = true;
  return c;
}

TestNetwork::TestNetwork(std::vector<NodeId> voters, std::vector<NodeId> learners,
                         std::function<void(Config&)> tweak)
    : tweak_(std::move(tweak)) {
  std::vector<NodeId> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  for (NodeId id : all) {
    Node& n = nodes_[id];
    n.config = DefaultConfig();
    n.config.id = id;
    n.config.peers = voters;
    n.config.learners = learners;
    n.config.seed = 1000 + id;
    if (tweak_) tweak_(n.config);
    n.storage = std::make_unique<MemoryStorage>();
    auto r = Raft::Create(n.config, n.storage.get());
    EXPECT_TRUE(r.ok()) << r.status();
    n.raft = std::move(*r);
  }
  DeliverAll();  // persist the bootstrap entries
}

void TestNetwork::AddJoiningNode(NodeId id) {
  Node& n = nodes_[id];
  n.config = DefaultConfig();
  n.config.id = id;
  n.config.seed = 1000 + id;
  if (tweak_) tweak_(n.config);
  n.config.peers.clear();
  n.config.learners.clear();
  n.storage = std::make_unique<MemoryStorage>();
  auto r = Raft::Create(n.config, n.storage.get());
  EXPECT_TRUE(r.ok()) << r.status();
  n.raft = std::move(*r);
}

void TestNetwork::Restart(NodeId id) {
  Node& n = nodes_.at(id);
  n.raft.reset();
  Config c = n.config;
  c.applied = 0;
  // The application state survives only as far as the snapshot: replay from it.
  auto snap = n.storage->GetSnapshot();
  n.applied.clear();
  n.applied_index = 0;
  if (snap.ok()) {
    n.applied = DecodeState(snap->data());
    n.applied_index = snap->metadata().index();
  }
  auto r = Raft::Create(c, n.storage.get());
  EXPECT_TRUE(r.ok()) << r.status();
  n.raft = std::move(*r);
  std::deque<pb::Message> keep;
  for (auto& m : queue_) {
    if (m.to() != id) keep.push_back(std::move(m));
  }
  queue_.swap(keep);
}

Raft& TestNetwork::node(NodeId id) { return *nodes_.at(id).raft; }
MemoryStorage& TestNetwork::storage(NodeId id) { return *nodes_.at(id).storage; }

std::vector<NodeId> TestNetwork::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

void TestNetwork::Tick(NodeId id) { nodes_.at(id).raft->Tick(); }

void TestNetwork::TickAll() {
  for (auto& [id, n] : nodes_) n.raft->Tick();
}

void TestNetwork::Run(int n) {
  for (int i = 0; i < n; ++i) {
    TickAll();
    DeliverAll();
  }
}

void TestNetwork::ProcessReady(NodeId id) {
  Node& n = nodes_.at(id);
  if (!n.raft->HasReady()) return;
  Ready rd = n.raft->GetReady();
  HandleReady(id, rd);
  n.raft->Advance(rd);
}

void TestNetwork::HandleReady(NodeId id, Ready& rd) {
  Node& n = nodes_.at(id);
  // 1. Persist.
  PersistBatch batch;
  if (rd.snapshot) batch.snapshot = &*rd.snapshot;
  batch.entries = &rd.entries;
  if (rd.hard_state) batch.hard_state = &*rd.hard_state;
  Status s = n.storage->Save(batch);
  EXPECT_TRUE(s.ok()) << "node " << id << ": " << s;
  // 2. Send.
  for (pb::Message& m : rd.messages) {
    sent_.push_back(m);
    if (Allowed(m)) queue_.push_back(std::move(m));
  }
  // 3. Restore and apply.
  if (rd.snapshot) {
    n.applied = DecodeState(rd.snapshot->data());
    n.applied_index = rd.snapshot->metadata().index();
    for (const auto& [index, e] : n.applied) Record(id, n, index, e);
    ++n.snapshots_installed;
  }
  for (const pb::Entry& e : rd.committed_entries) {
    EXPECT_EQ(e.index(), n.applied_index + 1) << "node " << id << " applies out of order";
    AppliedEntry a{e.term(), e.type(), e.data()};
    Record(id, n, e.index(), a);
    n.applied[e.index()] = std::move(a);
    n.applied_index = e.index();
  }
  // 4. Reads.
  for (ReadState& rs : rd.read_states) n.read_states.push_back(std::move(rs));
}

void TestNetwork::Record(NodeId id, Node& n, Index index, const AppliedEntry& e) {
  auto [it, inserted] = n.history.emplace(index, e);
  if (!inserted && !(it->second == e)) {
    ADD_FAILURE() << "node " << id << " applied index " << index << " twice, differently";
  }
}

void TestNetwork::DeliverQueued() {
  std::deque<pb::Message> batch;
  batch.swap(queue_);
  for (pb::Message& m : batch) {
    auto it = nodes_.find(m.to());
    if (it == nodes_.end()) continue;
    Status s = it->second.raft->Step(std::move(m));
    EXPECT_TRUE(s.ok()) << "step at node " << it->first << ": " << s;
  }
}

void TestNetwork::DeliverAll() {
  for (int round = 0; round < 100000; ++round) {
    bool any = false;
    for (auto& [id, n] : nodes_) {
      while (n.raft->HasReady()) {
        ProcessReady(id);
        any = true;
      }
    }
    if (queue_.empty() && !any) return;
    DeliverQueued();
  }
  ADD_FAILURE() << "network did not quiesce";
}

NodeId TestNetwork::Elect(NodeId id) {
  node(id).Campaign();
  DeliverAll();
  return Leader();
}

NodeId TestNetwork::Leader() const {
  NodeId best = kNoNode;
  Term best_term = 0;
  for (const auto& [id, n] : nodes_) {
    if (n.raft->role() == Role::kLeader && n.raft->term() >= best_term) {
      best = id;
      best_term = n.raft->term();
    }
  }
  return best;
}

Index TestNetwork::ProposeAndDeliver(const std::string& data) {
  NodeId l = Leader();
  if (l == kNoNode) return 0;
  auto r = node(l).Propose(data);
  if (!r.ok()) return 0;
  DeliverAll();
  return *r;
}

void TestNetwork::Cut(NodeId a, NodeId b) {
  cuts_.insert({a, b});
  cuts_.insert({b, a});
}

void TestNetwork::Isolate(NodeId id) { isolated_.insert(id); }

void TestNetwork::SetDropRate(double p, uint64_t seed) {
  drop_rate_ = p;
  rng_state_ = seed;
}

void TestNetwork::Recover() {
  cuts_.clear();
  isolated_.clear();
  drop_rate_ = 0;
  filter_ = nullptr;
}

bool TestNetwork::Allowed(pb::Message& m) {
  if (cuts_.count({m.from(), m.to()})) return false;
  if (isolated_.count(m.from()) || isolated_.count(m.to())) return false;
  if (filter_ && !filter_(m)) return false;
  if (drop_rate_ > 0) {
    // SplitMix64: deterministic per seed.
    uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    double u = static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53);
    if (u < drop_rate_) return false;
  }
  return true;
}

const std::map<Index, AppliedEntry>& TestNetwork::applied(NodeId id) const {
  return nodes_.at(id).applied;
}

Index TestNetwork::applied_index(NodeId id) const { return nodes_.at(id).applied_index; }

std::vector<ReadState>& TestNetwork::read_states(NodeId id) { return nodes_.at(id).read_states; }

uint64_t TestNetwork::snapshots_installed(NodeId id) const {
  return nodes_.at(id).snapshots_installed;
}

bool TestNetwork::AppliedConsistent(std::string* why) const {
  for (const auto& [a, na] : nodes_) {
    for (const auto& [b, nb] : nodes_) {
      if (a >= b) continue;
      for (const auto& [index, entry] : na.history) {
        auto it = nb.history.find(index);
        if (it != nb.history.end() && !(it->second == entry)) {
          *why = "nodes " + std::to_string(a) + " and " + std::to_string(b) +
                 " applied different entries at " + std::to_string(index);
          return false;
        }
      }
    }
  }
  return true;
}

void TestNetwork::Compact(NodeId id, uint64_t keep) {
  Node& n = nodes_.at(id);
  pb::SnapshotMetadata md;
  md.set_index(n.applied_index);
  md.set_term(n.raft->TermAt(n.applied_index));
  auto cs = n.raft->ConfStateAt(n.applied_index);
  ASSERT_TRUE(cs.ok()) << cs.status();
  *md.mutable_conf_state() = *cs;
  Status s = n.storage->CreateSnapshot(md, EncodeState(n.applied), keep);
  EXPECT_TRUE(s.ok()) << s;
}

std::string TestNetwork::EncodeState(const std::map<Index, AppliedEntry>& state) {
  std::string out;
  for (const auto& [index, e] : state) {
    pb::Entry pe;
    pe.set_index(index);
    pe.set_term(e.term);
    pe.set_type(e.type);
    pe.set_data(e.data);
    std::string s = pe.SerializeAsString();
    uint32_t len = static_cast<uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&len), sizeof(len));
    out += s;
  }
  return out;
}

std::map<Index, AppliedEntry> TestNetwork::DecodeState(const std::string& data) {
  std::map<Index, AppliedEntry> out;
  size_t pos = 0;
  while (pos + 4 <= data.size()) {
    uint32_t len;
    std::memcpy(&len, data.data() + pos, 4);
    pos += 4;
    pb::Entry pe;
    EXPECT_TRUE(pe.ParseFromArray(data.data() + pos, static_cast<int>(len)));
    pos += len;
    out[pe.index()] = AppliedEntry{pe.term(), pe.type(), pe.data()};
  }
  return out;
}

}  // namespace coord::raft::testing
