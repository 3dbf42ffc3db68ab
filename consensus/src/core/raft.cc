// The Raft facade, construction (bootstrap and restart), Ready/Advance and status.
#include "coord/consensus/raft.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "core/check.h"
#include "core/raft_impl.h"

namespace coord::raft {
namespace {

// Committed entries handed out per Ready are bounded so one Ready never holds an
// unbounded amount of memory; the rest follows in the next Ready.
constexpr uint64_t kMaxApplyBytesPerReady = 64ULL << 20;
// Entries read per storage call while replaying configuration changes.
constexpr uint64_t kReplayBatchBytes = 16ULL << 20;

Status ValidateConfig(const Config& c) {
  if (c.id == kNoNode) return Status::InvalidArgument("config: id must be non-zero");
  if (c.election_tick < 1) return Status::InvalidArgument("config: election_tick must be >= 1");
  if (c.heartbeat_tick < 1 || c.heartbeat_tick >= c.election_tick) {
    return Status::InvalidArgument("config: heartbeat_tick must be in [1, election_tick)");
  }
  if (c.max_inflight_msgs < 1) {
    return Status::InvalidArgument("config: max_inflight_msgs must be >= 1");
  }
  if (c.max_msg_bytes == 0) return Status::InvalidArgument("config: max_msg_bytes must be > 0");
  if (c.snapshot_chunk_bytes == 0) {
    return Status::InvalidArgument("config: snapshot_chunk_bytes must be > 0");
  }
  if (c.lease_reads && !c.check_quorum) {
    return Status::InvalidArgument("config: lease_reads requires check_quorum");
  }
  std::set<NodeId> seen;
  for (NodeId p : c.peers) {
    if (p == kNoNode) return Status::InvalidArgument("config: peers contains node 0");
    if (!seen.insert(p).second) {
      return Status::InvalidArgument("config: peer " + std::to_string(p) + " listed twice");
    }
  }
  for (NodeId l : c.learners) {
    if (l == kNoNode) return Status::InvalidArgument("config: learners contains node 0");
    if (!seen.insert(l).second) {
      return Status::InvalidArgument("config: learner " + std::to_string(l) +
                                     " listed twice or also a peer");
    }
  }
  if (c.peers.empty() && !c.learners.empty()) {
    return Status::InvalidArgument("config: learners given without voters");
  }
  return Status::Ok();
}

}  // namespace

// ---- Impl construction ------------------------------------------------------------

Raft::Impl::Impl(const Config& config, const LogStorage* storage, Index committed, Index applied)
    : cfg_(config),
      storage_(storage),
      id_(config.id),
      log_(storage, committed, applied),
      rng_(config.seed) {}

Result<std::unique_ptr<Raft::Impl>> Raft::Impl::Create(const Config& config,
                                                       const LogStorage* storage) {
  if (storage == nullptr) return Status::InvalidArgument("storage must not be null");
  COORD_RETURN_IF_ERROR(ValidateConfig(config));
  pb::HardState hs = storage->HardState();
  pb::SnapshotMetadata snap = storage->SnapshotMetadata();
  Index first = storage->FirstIndex();
  Index last = storage->LastIndex();
  bool fresh =
      hs.term() == 0 && hs.vote() == 0 && hs.commit() == 0 && snap.index() == 0 && last == 0;
  if (!fresh) {
    if (last + 1 < first) {
      return Status::Corruption("storage: last index " + std::to_string(last) +
                                " is below first index " + std::to_string(first));
    }
    if (hs.term() > kMaxTerm || last > kMaxIndex) {
      return Status::Corruption("storage: term " + std::to_string(hs.term()) + " or last index " +
                                std::to_string(last) + " is beyond the maximum");
    }
    Result<Term> last_term = storage->TermAt(last);
    if (!last_term.ok()) return last_term.status();
    if (hs.term() < *last_term) {
      // A member adopts a term before it accepts entries of it, and both are
      // persisted in order: a lower saved term means lost or mixed-up state.
      return Status::Corruption("storage: term " + std::to_string(hs.term()) +
                                " is below the last entry's term " + std::to_string(*last_term));
    }
    if (hs.commit() > last) {
      return Status::Corruption("storage: commit index " + std::to_string(hs.commit()) +
                                " is beyond the last index " + std::to_string(last));
    }
  }
  // A snapshot is committed by definition, whatever the saved hard state says.
  Index committed = std::max(hs.commit(), snap.index());
  if (config.applied > committed) {
    return Status::InvalidArgument("config: applied " + std::to_string(config.applied) +
                                   " is beyond the commit index " + std::to_string(committed));
  }
  std::unique_ptr<Impl> impl(new Impl(config, storage, committed, config.applied));
  impl->prev_hard_ = hs;
  if (fresh) {
    COORD_RETURN_IF_ERROR(impl->Bootstrap());
  } else {
    COORD_RETURN_IF_ERROR(impl->Restart());
  }
  impl->BecomeFollower(impl->term_, kNoNode);
  impl->prev_soft_ = SoftState{impl->lead_, impl->role_};
  return impl;
}

Status Raft::Impl::Bootstrap() {
  if (cfg_.peers.empty()) return Status::Ok();  // a joining member: waits for a leader
  std::vector<NodeId> voters = cfg_.peers;
  std::vector<NodeId> learners = cfg_.learners;
  std::sort(voters.begin(), voters.end());
  std::sort(learners.begin(), learners.end());
  std::vector<pb::Entry> entries;
  entries.reserve(voters.size() + learners.size());
  auto add = [&](pb::ConfChangeType type, NodeId id) {
    pb::ConfChange cc;
    cc.set_type(type);
    cc.set_node_id(id);
    pb::Entry e;
    e.set_term(1);
    e.set_index(entries.size() + 1);
    e.set_type(pb::ENTRY_CONF_CHANGE);
    e.set_data(cc.SerializeAsString());
    entries.push_back(std::move(e));
  };
  for (NodeId v : voters) add(pb::CONF_ADD_VOTER, v);
  for (NodeId l : learners) add(pb::CONF_ADD_LEARNER, l);
  for (const pb::Entry& e : entries) members_.AppendEntry(e.index(), e.data()).IgnoreError();
  Index n = entries.size();
  log_.Append(std::move(entries));
  term_ = 1;
  log_.CommitTo(n);
  return Status::Ok();
}

Status Raft::Impl::Restart() {
  term_ = storage_->HardState().term();
  vote_ = storage_->HardState().vote();
  pb::SnapshotMetadata snap = storage_->SnapshotMetadata();
  members_.Reset(snap.conf_state(), snap.index());
  // Replay every configuration change in the log; changes at or below the
  // snapshot index are already in its ConfState.
  Index lo = std::max(storage_->FirstIndex(), snap.index() + 1);
  Index hi = storage_->LastIndex() + 1;
  while (lo < hi) {
    Result<std::vector<pb::Entry>> batch = storage_->Entries(lo, hi, kReplayBatchBytes);
    if (!batch.ok()) return batch.status();
    if (batch->empty())
      return Status::Corruption("storage returned no entries at " + std::to_string(lo));
    for (const pb::Entry& e : *batch) {
      if (e.index() != lo) {
        return Status::Corruption("storage entry " + std::to_string(e.index()) + " found where " +
                                  std::to_string(lo) + " was expected");
      }
      if (e.type() == pb::ENTRY_CONF_CHANGE) {
        members_.AppendEntry(e.index(), e.data()).IgnoreError();  // invalid = no-op
      }
      ++lo;
    }
  }
  return Status::Ok();
}

// ---- Ready --------------------------------------------------------------------------

bool Raft::Impl::HasReady() const {
  if (SoftState{lead_, role_} != prev_soft_) return true;
  if (term_ != prev_hard_.term() || vote_ != prev_hard_.vote() ||
      log_.committed() != prev_hard_.commit()) {
    return true;
  }
  return log_.HasSnapshotToPersist() || log_.HasEntriesToPersist() || !msgs_.empty() ||
         log_.HasEntriesToApply() || !read_states_.empty();
}

Ready Raft::Impl::GetReady() {
  Ready rd;
  SoftState ss{lead_, role_};
  if (ss != prev_soft_) {
    rd.soft_state = ss;
    prev_soft_ = ss;
  }
  if (term_ != prev_hard_.term() || vote_ != prev_hard_.vote() ||
      log_.committed() != prev_hard_.commit()) {
    pb::HardState hs;
    hs.set_term(term_);
    hs.set_vote(vote_);
    hs.set_commit(log_.committed());
    prev_hard_ = hs;
    rd.hard_state = std::move(hs);
  }
  if (log_.HasSnapshotToPersist()) rd.snapshot = log_.SnapshotToPersist();
  rd.entries = log_.TakeEntriesToPersist();
  rd.messages.swap(msgs_);
  rd.committed_entries = log_.TakeEntriesToApply(kMaxApplyBytesPerReady);
  rd.read_states.swap(read_states_);
  return rd;
}

void Raft::Impl::Advance(const Ready& rd) {
  if (rd.snapshot) log_.StableSnapshotTo(rd.snapshot->metadata().index());
  if (!rd.entries.empty()) {
    log_.StableTo(rd.entries.back().index(), rd.entries.back().term());
    // Our own entries now count toward the quorum (see MaybeCommit).
    if (role_ == Role::kLeader && MaybeCommit()) {
      BroadcastAppend();  // tells everyone the new commit index
      StepDownIfRemoved();
      if (role_ == Role::kLeader) PruneRemovedProgress();
    }
  }
  if (!rd.committed_entries.empty()) log_.AppliedTo(rd.committed_entries.back().index());
}

Result<pb::ConfState> Raft::Impl::ConfStateAt(Index index) const {
  if (index > log_.LastIndex()) {
    return Status::InvalidArgument("index " + std::to_string(index) + " is beyond the last index " +
                                   std::to_string(log_.LastIndex()));
  }
  return members_.ConfStateAt(index);
}

RaftStatus Raft::Impl::GetStatus() const {
  RaftStatus st;
  st.id = id_;
  st.term = term_;
  st.vote = vote_;
  st.role = role_;
  st.leader = lead_;
  st.commit = log_.committed();
  st.applied = log_.applied();
  st.last_index = log_.LastIndex();
  st.conf_state = members_.ToConfState();
  if (role_ == Role::kLeader) {
    for (const auto& [id, pr] : prs_) {
      if (id == id_) continue;
      FollowerProgress fp;
      fp.id = id;
      fp.match = pr.match;
      fp.next = pr.next;
      fp.learner = members_.IsLearner(id);
      fp.recent_active = pr.recent_active;
      fp.snapshot_in_flight = pr.state == ProgressState::kSnapshot;
      st.progress.push_back(fp);
    }
  }
  return st;
}

// ---- Facade ---------------------------------------------------------------------------

Raft::Raft(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Raft::~Raft() = default;

Result<std::unique_ptr<Raft>> Raft::Create(const Config& config, const LogStorage* storage) {
  Result<std::unique_ptr<Impl>> impl = Impl::Create(config, storage);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Raft>(new Raft(std::move(*impl)));
}

void Raft::Tick() { impl_->Tick(); }
Status Raft::Step(pb::Message message) { return impl_->Step(std::move(message)); }
Result<Index> Raft::Propose(std::string data) { return impl_->Propose(std::move(data)); }
Result<Index> Raft::ProposeBatch(std::vector<std::string> data) {
  return impl_->ProposeBatch(std::move(data));
}
Result<Index> Raft::ProposeConfChange(const pb::ConfChange& change) {
  return impl_->ProposeConfChange(change);
}
Status Raft::ReadIndex(std::string context) { return impl_->ReadIndex(std::move(context)); }
Status Raft::TransferLeadership(NodeId target) { return impl_->TransferLeadership(target); }
void Raft::Campaign() { impl_->Campaign(); }
void Raft::ReportUnreachable(NodeId id) { impl_->ReportUnreachable(id); }
bool Raft::HasReady() const { return impl_->HasReady(); }
Ready Raft::GetReady() { return impl_->GetReady(); }
void Raft::Advance(const Ready& ready) { impl_->Advance(ready); }
NodeId Raft::id() const { return impl_->id(); }
Term Raft::term() const { return impl_->term(); }
Role Raft::role() const { return impl_->role(); }
NodeId Raft::leader() const { return impl_->leader(); }
Index Raft::commit() const { return impl_->commit(); }
Index Raft::last_index() const { return impl_->last_index(); }
Term Raft::TermAt(Index index) const { return impl_->TermAt(index); }
pb::ConfState Raft::conf_state() const { return impl_->conf_state(); }
Result<pb::ConfState> Raft::ConfStateAt(Index index) const { return impl_->ConfStateAt(index); }
RaftStatus Raft::GetStatus() const { return impl_->GetStatus(); }

}  // namespace coord::raft
