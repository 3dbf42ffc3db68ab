#include "sim_cluster.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace coord::raft::sim {
namespace {

std::string S(uint64_t v) { return std::to_string(v); }

const char* StateName(MemberState s) {
  switch (s) {
    case MemberState::kUp:
      return "up";
    case MemberState::kDown:
      return "down";
    case MemberState::kRetired:
      return "retired";
  }
  return "?";
}

const char* MsgName(pb::MessageType t) {
  switch (t) {
    case pb::MSG_PRE_VOTE:
      return "PreVote";
    case pb::MSG_PRE_VOTE_RESP:
      return "PreVoteResp";
    case pb::MSG_VOTE:
      return "Vote";
    case pb::MSG_VOTE_RESP:
      return "VoteResp";
    case pb::MSG_APPEND:
      return "Append";
    case pb::MSG_APPEND_RESP:
      return "AppendResp";
    case pb::MSG_HEARTBEAT:
      return "Heartbeat";
    case pb::MSG_HEARTBEAT_RESP:
      return "HeartbeatResp";
    case pb::MSG_SNAPSHOT:
      return "Snapshot";
    case pb::MSG_SNAPSHOT_RESP:
      return "SnapshotResp";
    case pb::MSG_TIMEOUT_NOW:
      return "TimeoutNow";
    case pb::MSG_READ_INDEX:
      return "ReadIndex";
    case pb::MSG_READ_INDEX_RESP:
      return "ReadIndexResp";
    default:
      return "Msg?";
  }
}

bool Contains(const google::protobuf::RepeatedField<uint64_t>& field, uint64_t id) {
  return std::find(field.begin(), field.end(), id) != field.end();
}

}  // namespace

SimCluster::SimCluster(uint64_t seed, ClusterOptions options, std::ostream* trace)
    : rng_(seed), options_(options), trace_(trace), network_(&rng_) {}

SimCluster::~SimCluster() = default;

void SimCluster::Trace(const std::string& line) {
  if (trace_ == nullptr) return;
  *trace_ << "[" << stats_.steps << " t=" << now_ << "] " << line << "\n";
}

SimMember* SimCluster::Find(NodeId id) {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

const SimMember* SimCluster::member(NodeId id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

bool SimCluster::IsUp(NodeId id) const {
  const SimMember* m = member(id);
  return m != nullptr && m->state == MemberState::kUp;
}

Status SimCluster::Start() {
  if (options_.members < 1) return Status::InvalidArgument("a cluster needs at least one member");
  std::vector<NodeId> peers;
  for (int i = 1; i <= options_.members; ++i) {
    peers.push_back(static_cast<NodeId>(i));
    initial_conf_.add_voters(static_cast<NodeId>(i));
  }
  committed_conf_ = initial_conf_;
  next_id_ = peers.size() + 1;
  for (NodeId id : peers) {
    SimMember& m = members_[id];
    m.id = id;
    m.joined = true;
    m.config.peers = peers;
    m.storage = std::make_unique<MemoryStorage>();
  }
  for (auto& [id, m] : members_) {
    m.config.id = id;
    m.config.election_tick = options_.election_tick;
    m.config.heartbeat_tick = options_.heartbeat_tick;
    m.config.pre_vote = options_.pre_vote;
    m.config.check_quorum = options_.check_quorum;
    m.config.lease_reads = options_.lease_reads;
    m.config.snapshot_chunk_bytes = options_.snapshot_chunk_bytes;
    m.config.max_msg_bytes = options_.max_msg_bytes;
    m.config.max_inflight_msgs = options_.max_inflight_msgs;
    COORD_RETURN_IF_ERROR(StartMember(m));
  }
  Trace("start " + S(options_.members) + " members");
  EndStep();
  return failed() ? Status::Internal(violation()) : Status::Ok();
}

Status SimCluster::StartMember(SimMember& m) {
  m.config.seed = rng_.Next();
  // A volatile application starts empty (and from the saved snapshot); a
  // persistent one (options_.persistent_app) kept its state through the crash
  // and tells the core where it is with Config::applied.
  if (!options_.persistent_app || !m.app) m.app = std::make_unique<SimApp>(initial_conf_);
  if (m.storage->SnapshotMetadata().index() > m.app->applied()) {
    Result<pb::Snapshot> snap = m.storage->GetSnapshot();
    if (!snap.ok()) {
      Fail("member " + S(m.id) +
           ": storage has snapshot metadata but GetSnapshot failed: " + snap.status().ToString());
      return snap.status();
    }
    Status s = m.app->Restore(*snap);
    if (!s.ok()) {
      Fail("member " + S(m.id) + ": restoring its saved snapshot on restart: " + s.ToString());
      return s;
    }
    checker_.OnRestore(m.id, m.app->applied(), m.app->applied_term(), m.app->chain());
  }
  m.config.applied = options_.persistent_app ? m.app->applied() : 0;
  Result<std::unique_ptr<Raft>> core = Raft::Create(m.config, m.storage.get());
  if (!core.ok()) {
    Fail("member " + S(m.id) + ": Raft::Create failed: " + core.status().ToString());
    return core.status();
  }
  m.core = std::move(*core);
  // A restarted core must resume from what it persisted: its term and its vote.
  const pb::HardState hs = m.storage->HardState();
  const RaftStatus status = m.core->GetStatus();
  if (status.term < hs.term() || (status.term == hs.term() && status.vote != hs.vote())) {
    Fail("member " + S(m.id) + " restarted at term " + S(status.term) + " vote " + S(status.vote) +
         " but persisted term " + S(hs.term()) + " vote " + S(hs.vote()));
  }
  m.state = MemberState::kUp;
  m.last_term = m.core->term();
  m.last_commit = m.core->commit();
  m.checked_leader_term = 0;
  m.checked_version = 0;
  return Status::Ok();
}

void SimCluster::StopMember(SimMember& m) {
  m.core.reset();
  m.unadvanced.clear();
  if (m.durable) m.storage = std::move(m.durable);  // unsynced Saves are lost
  if (!options_.persistent_app) m.app.reset();
  m.reads.clear();
  m.released.clear();
  m.crash_after_persist = false;
}

// ---- Steps ------------------------------------------------------------------------------

void SimCluster::Deliver(pb::Message msg) {
  SimMember* m = Find(msg.to());
  if (m == nullptr || m->state != MemberState::kUp) {
    // Like a transport whose connection failed: tell the sender, sometimes.
    SimMember* from = Find(msg.from());
    if (from != nullptr && from->state == MemberState::kUp && rng_.Chance(0.5)) {
      from->core->ReportUnreachable(msg.to());
    }
    return;
  }
  if (tracing()) {
    Trace(S(msg.from()) + "->" + S(msg.to()) + " " + MsgName(msg.type()) + " term " +
          S(msg.term()) + " idx " + S(msg.index()) + " logterm " + S(msg.log_term()) + " n=" +
          S(msg.entries_size()) + " commit " + S(msg.commit()) + (msg.reject() ? " reject" : "") +
          (msg.type() == pb::MSG_SNAPSHOT
               ? " snap@" + S(msg.snapshot().metadata().index()) + " off " +
                     S(msg.snapshot().offset()) + "/" + S(msg.snapshot().total_size()) +
                     (msg.snapshot().done() ? " done" : "")
               : ""));
  }
  Status s = m->core->Step(std::move(msg));
  if (!s.ok() && tracing()) Trace("  step error: " + s.ToString());
}

bool SimCluster::DeliverOne() {
  std::optional<pb::Message> msg = network_.PopDue(now_);
  if (msg) Deliver(std::move(*msg));
  EndStep();
  return msg.has_value();
}

void SimCluster::TickSlot() {
  ++now_;
  // Every non-retired member gets the same share of ticks on average; a tick
  // drawn for a down member is lost, as time passes for it too.
  std::vector<NodeId> ids;
  for (const auto& [id, m] : members_) {
    if (m.state != MemberState::kRetired) ids.push_back(id);
  }
  if (!ids.empty()) {
    const size_t pick =
        options_.lockstep_ticks ? tick_cursor_++ % ids.size() : rng_.Uniform(ids.size());
    SimMember& m = members_[ids[pick]];
    if (m.state == MemberState::kUp) m.core->Tick();
  }
  EndStep();
}

void SimCluster::BackgroundStep() {
  if (network_.HasDue(now_) && rng_.Chance(0.98)) {
    DeliverOne();
  } else {
    TickSlot();
  }
}

Result<Index> SimCluster::Propose(NodeId id, std::string data) {
  SimMember* m = Find(id);
  if (m == nullptr || m->state != MemberState::kUp) return Status::Unavailable("member down");
  ++stats_.proposals;
  const bool was_leader = m->core->role() == Role::kLeader;
  Result<Index> r = m->core->Propose(std::move(data));
  if (r.ok() && !was_leader) Fail("member " + S(id) + " (not leader) accepted a proposal");
  if (!r.ok() && !was_leader && r.status().code() != StatusCode::kNotLeader) {
    Fail("member " + S(id) + " (not leader) answered a proposal with " + r.status().ToString() +
         " instead of NOT_LEADER");
  }
  if (tracing()) {
    Trace("propose at " + S(id) + ": " + (r.ok() ? "index " + S(*r) : r.status().ToString()));
  }
  EndStep();
  return r;
}

Result<Index> SimCluster::ProposeBatch(NodeId id, std::vector<std::string> data) {
  SimMember* m = Find(id);
  if (m == nullptr || m->state != MemberState::kUp) return Status::Unavailable("member down");
  stats_.proposals += data.size();
  const size_t n = data.size();
  const bool was_leader = m->core->role() == Role::kLeader;
  Result<Index> r = m->core->ProposeBatch(std::move(data));
  if (r.ok() && !was_leader) Fail("member " + S(id) + " (not leader) accepted a proposal batch");
  if (tracing()) {
    Trace("propose batch of " + S(n) + " at " + S(id) + ": " +
          (r.ok() ? "index " + S(*r) : r.status().ToString()));
  }
  EndStep();
  return r;
}

Status SimCluster::ReadIndex(NodeId id) {
  SimMember* m = Find(id);
  if (m == nullptr || m->state != MemberState::kUp) return Status::Unavailable("member down");
  ReadRequest req;
  req.context = "read-" + S(++read_seq_);
  req.must_include = checker_.max_commit();
  Status s = m->core->ReadIndex(req.context);
  if (s.ok()) m->reads[req.context] = req;
  if (tracing()) {
    Trace("read index at " + S(id) + " (" + req.context + ", must include " + S(req.must_include) +
          "): " + s.ToString());
  }
  EndStep();
  return s;
}

Status SimCluster::TransferLeadership(NodeId leader, NodeId target) {
  SimMember* m = Find(leader);
  if (m == nullptr || m->state != MemberState::kUp) return Status::Unavailable("member down");
  Status s = m->core->TransferLeadership(target);
  if (s.ok()) ++stats_.transfers;
  Trace("transfer leadership " + S(leader) + " -> " + S(target) + ": " + s.ToString());
  EndStep();
  return s;
}

Result<Index> SimCluster::ChangeMembership(NodeId leader, pb::ConfChangeType type, NodeId node) {
  SimMember* m = Find(leader);
  if (m == nullptr || m->state != MemberState::kUp) return Status::Unavailable("member down");
  pb::ConfChange change;
  change.set_type(type);
  change.set_node_id(node);
  change.set_context("sim-" + S(node));
  Result<Index> r = m->core->ProposeConfChange(change);
  if (tracing()) {
    Trace("conf change at " + S(leader) + ": " + change.ShortDebugString() + ": " +
          (r.ok() ? "index " + S(*r) : r.status().ToString()));
  }
  if (r.ok() && type == pb::CONF_ADD_LEARNER && members_.count(node) == 0) {
    // The new member starts empty and learns everything (membership included)
    // from the leader.
    SimMember& nm = members_[node];
    nm.id = node;
    nm.config = members_.begin()->second.config;
    nm.config.id = node;
    nm.config.peers.clear();
    nm.config.learners.clear();
    nm.storage = std::make_unique<MemoryStorage>();
    next_id_ = std::max(next_id_, node + 1);
    StartMember(nm).IgnoreError();  // a failure is recorded as a violation
  }
  EndStep();
  return r;
}

void SimCluster::Crash(NodeId id) {
  SimMember* m = Find(id);
  if (m != nullptr && m->state == MemberState::kUp) {
    StopMember(*m);
    m->state = MemberState::kDown;
    ++stats_.crashes;
    Trace("crash " + S(id));
  }
  EndStep();
}

void SimCluster::CrashAfterNextPersist(NodeId id, Index min_index) {
  SimMember* m = Find(id);
  if (m != nullptr && m->state == MemberState::kUp) {
    m->crash_after_persist = true;
    m->crash_min_index = min_index;
    Trace("arm crash-after-persist on " + S(id) + " (min index " + S(min_index) + ")");
  }
  EndStep();
}

void SimCluster::DisarmCrashes() {
  for (auto& [id, m] : members_) m.crash_after_persist = false;
}

Status SimCluster::Restart(NodeId id) {
  SimMember* m = Find(id);
  if (m == nullptr || m->state != MemberState::kDown) {
    return Status::InvalidArgument("member " + S(id) + " is not down");
  }
  Status s = StartMember(*m);
  if (s.ok()) ++stats_.restarts;
  Trace("restart " + S(id) + ": " + s.ToString());
  EndStep();
  return s;
}

void SimCluster::Partition(const std::vector<NodeId>& side) {
  std::vector<NodeId> others;
  for (const auto& [id, m] : members_) {
    if (std::find(side.begin(), side.end(), id) == side.end()) others.push_back(id);
  }
  network_.Partition(side, others);
  if (tracing()) {
    std::string s;
    for (NodeId id : side) s += " " + S(id);
    Trace("partition {" + s + " } from the rest");
  }
  EndStep();
}

void SimCluster::CutOneWay(NodeId from, NodeId to) {
  network_.Cut(from, to);
  Trace("cut " + S(from) + " -> " + S(to));
  EndStep();
}

void SimCluster::Heal() {
  network_.HealAll();
  Trace("heal all links");
  EndStep();
}

void SimCluster::SetNetworkFaults(const NetworkFaults& faults) {
  network_.set_faults(faults);
  if (tracing()) {
    std::ostringstream os;
    os << "network faults: drop " << faults.drop << " dup " << faults.duplicate << " delay 0.."
       << faults.max_delay << " long " << faults.long_delay;
    Trace(os.str());
  }
  EndStep();
}

// ---- Queries ------------------------------------------------------------------------------

std::optional<NodeId> SimCluster::Leader() const {
  std::optional<NodeId> best;
  Term best_term = 0;
  for (const auto& [id, m] : members_) {
    if (m.state != MemberState::kUp || m.core->role() != Role::kLeader) continue;
    if (!best || m.core->term() > best_term) {
      best = id;
      best_term = m.core->term();
    }
  }
  return best;
}

std::vector<NodeId> SimCluster::Ids(MemberState state) const {
  std::vector<NodeId> out;
  for (const auto& [id, m] : members_) {
    if (m.state == state) out.push_back(id);
  }
  return out;
}

std::vector<NodeId> SimCluster::LiveMembers() const {
  std::vector<NodeId> out;
  for (const auto& [id, m] : members_) {
    if (m.state != MemberState::kUp) continue;
    if (Contains(committed_conf_.voters(), id) || Contains(committed_conf_.learners(), id)) {
      out.push_back(id);
    }
  }
  return out;
}

void SimCluster::Describe(std::ostream& os) const {
  os << "committed conf: " << committed_conf_.ShortDebugString()
     << "; network: " << network_.in_flight() << " in flight (" << network_.due(now_)
     << " overdue), " << network_.sent() << " sent, " << network_.dropped() << " dropped\n";
  for (const auto& [id, m] : members_) {
    os << "  member " << id << " " << StateName(m.state);
    if (m.state == MemberState::kUp) {
      os << " " << RoleName(m.core->role()) << " term " << m.core->term() << " commit "
         << m.core->commit() << " applied " << m.app->applied() << " last " << m.core->last_index()
         << " leader " << m.core->leader() << " conf {" << m.core->conf_state().ShortDebugString()
         << "}";
    }
    os << " snapshot " << m.storage->SnapshotMetadata().index() << " log ["
       << m.storage->FirstIndex() << "," << m.storage->LastIndex() << "]\n";
  }
}

}  // namespace coord::raft::sim
