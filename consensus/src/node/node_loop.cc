// Node: the loop on the node thread — drain queued requests, tick, and process
// each Ready in the order raft.h prescribes (persist, send, restore/apply, reads,
// advance).
#include <spdlog/spdlog.h>

#include <utility>

#include "node/membership.h"
#include "node/node_impl.h"
#include "node/snapshot_envelope.h"

namespace coord::raft {

using node_internal::ApplyConfChange;
using node_internal::DecodeSnapshotEnvelope;
using node_internal::EncodeSnapshotEnvelope;
using node_internal::ParseConfChange;
using node_internal::SnapshotEnvelope;

namespace {

std::string DescribeChange(const pb::ConfChange& change) {
  const char* what = change.type() == pb::CONF_ADD_VOTER     ? "add voter"
                     : change.type() == pb::CONF_ADD_LEARNER ? "add learner"
                                                             : "remove";
  std::string out = std::string(what) + " " + std::to_string(change.node_id());
  if (!change.context().empty()) out += " at " + change.context();
  return out;
}

std::string DescribeConf(const pb::ConfState& conf) {
  std::string out = "voters {";
  for (int i = 0; i < conf.voters_size(); ++i) {
    out += (i ? "," : "") + std::to_string(conf.voters(i));
  }
  out += "} learners {";
  for (int i = 0; i < conf.learners_size(); ++i) {
    out += (i ? "," : "") + std::to_string(conf.learners(i));
  }
  return out + "}";
}

}  // namespace

Status Node::Impl::NotLeaderStatus() const {
  const NodeId leader = raft_->leader();
  return Status::NotLeader(leader == kNoNode
                               ? "not the leader; leader unknown"
                               : "not the leader; leader is " + std::to_string(leader));
}

void Node::Impl::ArmTimer() {
  timer_.expires_after(options_.tick_interval);
  timer_.async_wait([this](const boost::system::error_code& ec) { OnTick(ec); });
}

void Node::Impl::OnTick(const boost::system::error_code& ec) {
  if (ec || loop_stopping_ || failed_) return;
  raft_->Tick();
  ExpireDeadlines();
  ProcessReady();
  ArmTimer();
}

void Node::Impl::Drain() {
  {
    std::lock_guard lock(mu_);
    drain_posted_ = false;
  }
  if (Intake()) ProcessReady();
}

bool Node::Impl::Intake() {
  // drain_posted_ is left alone: when called from ProcessReady a posted Drain
  // still runs later and finds whatever arrived after this swap.
  Inbox in;
  bool stopped = false;
  Status error;
  {
    std::lock_guard lock(mu_);
    std::swap(in, inbox_);
    stopped = stopped_;
    error = error_;
  }
  if (stopped || failed_) {
    FailInbox(&in, stopped ? Status::Aborted("node stopped") : error, kNoNode);
    return false;
  }
  for (pb::Message& m : in.messages) {
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("raft {}: recv {} from {} term {} index {} entries {}", id(),
                    pb::MessageType_Name(m.type()), m.from(), m.term(), m.index(),
                    m.entries_size());
    }
    const NodeId from = m.from();
    Status s = raft_->Step(std::move(m));
    if (!s.ok()) {
      // Rare from a real member: log the first and then every 1000th.
      if (messages_refused_++ % 1000 == 0) {
        spdlog::warn("raft {}: refused a message from {}: {} ({} refused so far)", id(), from,
                     s.ToString(), messages_refused_);
      }
    }
  }
  for (NodeId peer : in.unreachable) raft_->ReportUnreachable(peer);
  if (in.campaign) {
    spdlog::info("raft {}: campaigning on request at term {}", id(), raft_->term());
    raft_->Campaign();
  }
  for (QueuedTransfer& t : in.transfers) {
    Status s = raft_->TransferLeadership(t.target);
    if (s.ok()) spdlog::info("raft {}: transferring leadership to {}", id(), t.target);
    t.done(s);
  }
  StartConfChanges(std::move(in.conf_changes));
  StartReads(std::move(in.reads));
  StartProposals(std::move(in.proposals));
  return true;
}

void Node::Impl::StartProposals(std::vector<QueuedProposal> proposals) {
  if (proposals.empty()) return;
  const Clock::time_point now = Clock::now();
  std::vector<QueuedProposal> live;
  live.reserve(proposals.size());
  for (QueuedProposal& p : proposals) {
    if (p.deadline <= now) {
      p.done(ProposeResult{
          Status::Timeout("proposal deadline passed in the queue"), 0, {}, raft_->leader()});
    } else {
      live.push_back(std::move(p));
    }
  }
  if (live.empty()) return;
  if (raft_->role() != Role::kLeader) {
    const Status s = NotLeaderStatus();
    for (QueuedProposal& p : live) p.done(ProposeResult{s, 0, {}, raft_->leader()});
    return;
  }
  // Group commit: every queued proposal joins one batch, so one Ready and one
  // fsync cover them all.
  std::vector<std::string> data;
  data.reserve(live.size());
  for (QueuedProposal& p : live) data.push_back(std::move(p.data));
  Result<Index> first = raft_->ProposeBatch(std::move(data));
  if (!first.ok()) {
    for (QueuedProposal& p : live) p.done(ProposeResult{first.status(), 0, {}, raft_->leader()});
    return;
  }
  const Term term = raft_->term();
  for (size_t i = 0; i < live.size(); ++i) {
    const Index index = *first + i;
    auto old = pending_.find(index);
    if (old != pending_.end()) {  // cannot happen: pending_ is emptied on stepping down
      old->second.done(ProposeResult{Status::Aborted("log index reused"), index, {}, kNoNode});
      pending_.erase(old);
    }
    pending_.emplace(index, PendingProposal{term, live[i].deadline, std::move(live[i].done)});
  }
  proposals_batched_ += live.size();
}

void Node::Impl::StartConfChanges(std::vector<QueuedConfChange> changes) {
  for (QueuedConfChange& c : changes) {
    Result<Index> index = raft_->ProposeConfChange(c.change);
    if (!index.ok()) {
      c.done(ProposeResult{index.status(), 0, {}, raft_->leader()});
      continue;
    }
    spdlog::info("raft {}: proposed membership change at {}: {}", id(), *index,
                 DescribeChange(c.change));
    pending_.emplace(*index, PendingProposal{raft_->term(), c.deadline, std::move(c.done)});
  }
}

void Node::Impl::StartReads(std::vector<QueuedRead> reads) {
  for (QueuedRead& r : reads) {
    // Unique per outstanding read on this member; the member id keeps contexts of
    // different members apart at the leader.
    std::string context = std::to_string(id()) + ":" + std::to_string(++next_read_id_);
    Status s = raft_->ReadIndex(context);
    if (!s.ok()) {
      r.done(ReadResult{s, 0, raft_->leader()});
      continue;
    }
    reads_asked_.emplace(std::move(context), PendingRead{r.deadline, std::move(r.done), 0});
  }
}

void Node::Impl::ProcessReady() {
  // Before each further Ready, take in what arrived meanwhile (proposals from the
  // callbacks just run, acknowledgements that came in during the fsync): the
  // next Ready then carries the new entries together with the commit update, so
  // a loaded leader pays one fsync per round instead of two. Bounded, so ticks
  // are never starved by a steady stream of work.
  constexpr int kMaxIntakes = 8;
  for (int round = 0; !failed_; ++round) {
    if (round > 0 && round <= kMaxIntakes && !Intake()) break;
    if (!raft_->HasReady()) break;
    Ready rd = raft_->GetReady();

    // 1. Persist, as one atomic batch, before any message that may depend on it.
    if (rd.MustPersist()) {
      PersistBatch batch;
      batch.snapshot = rd.snapshot ? &*rd.snapshot : nullptr;
      batch.entries = &rd.entries;
      batch.hard_state = rd.hard_state ? &*rd.hard_state : nullptr;
      // A commit-only change may skip the fsync if allowed (see
      // NodeOptions::sync_commit_updates); term, vote, entries and snapshots never.
      const bool commit_only = rd.entries.empty() && !rd.snapshot && rd.hard_state &&
                               rd.hard_state->term() == synced_term_ &&
                               rd.hard_state->vote() == synced_vote_;
      batch.sync = options_.sync && (options_.sync_commit_updates || !commit_only);
      Status s = storage_->Save(batch);
      ++saves_;
      if (batch.sync) ++synced_saves_;
      if (!s.ok()) {
        Fail(s);
        return;
      }
      if (rd.hard_state) {
        synced_term_ = rd.hard_state->term();
        synced_vote_ = rd.hard_state->vote();
      }
    }
    NoteAppendedEntries(rd.entries);

    // 2. Send.
    for (pb::Message& m : rd.messages) {
      if (spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("raft {}: send {} to {} term {} index {} entries {}", id(),
                      pb::MessageType_Name(m.type()), m.to(), m.term(), m.index(),
                      m.entries_size());
      }
      transport_->Send(std::move(m));
    }

    // 3. Restore, then apply.
    if (rd.snapshot) {
      Status s = InstallSnapshot(*rd.snapshot);
      if (!s.ok()) {
        Fail(s);
        return;
      }
    }
    for (const pb::Entry& e : rd.committed_entries) {
      Status s = ApplyCommitted(e);
      if (!s.ok()) {
        Fail(s);
        return;
      }
    }

    // 4. Reads.
    for (const ReadState& rs : rd.read_states) OnReadState(rs);
    ReleaseReads();

    // Role and leader changes come after applying: entries committed in this
    // Ready complete normally even if leadership was lost in the same batch.
    if (rd.soft_state) OnSoftState(*rd.soft_state);
    if (raft_->term() != last_term_) {
      spdlog::info("raft {}: term {} -> {}", id(), last_term_, raft_->term());
      last_term_ = raft_->term();
    }

    // 5. Advance.
    raft_->Advance(rd);
    MaybeSnapshot();

    // Completions run after the status reflects them: a caller woken by a
    // callback sees at least that applied index in GetStatus().
    PublishStatus();
    RunCompletions();
  }
  PublishStatus();
}

void Node::Impl::RunCompletions() {
  std::vector<std::function<void()>> completions;
  std::swap(completions, completions_);
  for (auto& c : completions) c();
}

void Node::Impl::NoteAppendedEntries(const std::vector<pb::Entry>& entries) {
  // A membership change takes effect when appended, so the new member must be
  // reachable at once (the leader replicates to it from now on).
  for (const pb::Entry& e : entries) {
    if (e.type() != pb::ENTRY_CONF_CHANGE) continue;
    auto change = ParseConfChange(e);
    if (!change.ok()) continue;  // the core validated it; ApplyCommitted reports
    if (change->type() != pb::CONF_REMOVE_NODE && !change->context().empty()) {
      AddPeerAddress(change->node_id(), change->context());
    }
  }
}

void Node::Impl::AddPeerAddress(NodeId peer, const std::string& address) {
  auto it = addresses_.find(peer);
  if (it != addresses_.end() && it->second == address) return;
  addresses_[peer] = address;
  if (peer != id()) {
    spdlog::info("raft {}: peer {} is at {}", id(), peer, address);
    transport_->AddPeer(peer, address);
  }
}

Status Node::Impl::InstallSnapshot(const pb::Snapshot& snapshot) {
  const pb::SnapshotMetadata& meta = snapshot.metadata();
  if (meta.index() <= applied_) {
    spdlog::info("raft {}: ignoring snapshot {} at or below applied {}", id(), meta.index(),
                 applied_);
    return Status::Ok();
  }
  auto envelope = DecodeSnapshotEnvelope(snapshot.data());
  if (!envelope.ok()) return envelope.status();
  for (const auto& [peer, address] : envelope->addresses) AddPeerAddress(peer, address);
  Status s = state_machine_->Restore(envelope->app_image);
  if (!s.ok()) {
    return Status(s.code(), "restoring the state machine from snapshot " +
                                std::to_string(meta.index()) + ": " + s.message());
  }
  applied_ = meta.index();
  snapshot_index_ = meta.index();
  applied_conf_ = meta.conf_state();
  ++snapshots_installed_;
  // Proposals at or below the snapshot can no longer be matched to an entry.
  while (!pending_.empty() && pending_.begin()->first <= applied_) {
    auto node = pending_.extract(pending_.begin());
    // It may be inside the snapshot (applied) or not: nobody here can tell.
    node.mapped().done(ProposeResult{Status::Aborted("superseded by a leader's snapshot"),
                                     node.key(), {}, raft_->leader(), /*indeterminate=*/true});
  }
  spdlog::info("raft {}: installed snapshot at index {} term {} ({} bytes), {}", id(), meta.index(),
               meta.term(), snapshot.data().size(), DescribeConf(applied_conf_));
  return Status::Ok();
}

Status Node::Impl::ApplyCommitted(const pb::Entry& entry) {
  if (entry.index() <= applied_) return Status::Ok();  // covered by a snapshot
  if (entry.index() != applied_ + 1) {
    return Status::Internal("committed entry " + std::to_string(entry.index()) +
                            " does not follow applied " + std::to_string(applied_));
  }
  std::any result;
  if (entry.type() == pb::ENTRY_CONF_CHANGE) {
    auto change = ParseConfChange(entry);
    if (!change.ok()) return change.status();
    ApplyConfChange(*change, &applied_conf_);
    spdlog::info("raft {}: membership change applied at {}: {}; now {}", id(), entry.index(),
                 DescribeChange(*change), DescribeConf(applied_conf_));
    if (change->type() == pb::CONF_REMOVE_NODE) {
      if (change->node_id() == id()) {
        spdlog::warn("raft {}: this member was removed from the cluster", id());
      } else {
        transport_->RemovePeer(change->node_id());
        addresses_.erase(change->node_id());
      }
    }
  } else if (!entry.data().empty()) {
    Result<std::any> applied = state_machine_->Apply(entry.index(), entry.data());
    if (!applied.ok()) {
      return Status(applied.status().code(), "cannot apply committed entry " +
                                                 std::to_string(entry.index()) + ": " +
                                                 applied.status().message());
    }
    result = std::move(*applied);
  }
  applied_ = entry.index();

  auto it = pending_.find(entry.index());
  if (it != pending_.end()) {
    auto node = pending_.extract(it);
    PendingProposal& p = node.mapped();
    ProposeResult r{Status::Ok(), entry.index(), std::move(result), raft_->leader()};
    if (p.term != entry.term()) {
      r = ProposeResult{
          Status::Aborted("entry overwritten by term " + std::to_string(entry.term())),
          entry.index(),
          {},
          raft_->leader()};
    }
    completions_.emplace_back(
        [done = std::move(p.done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  return Status::Ok();
}

void Node::Impl::OnReadState(const ReadState& read_state) {
  auto it = reads_asked_.find(read_state.context);
  if (it == reads_asked_.end()) return;  // timed out or failed meanwhile
  PendingRead read = std::move(it->second);
  reads_asked_.erase(it);
  read.index = read_state.index;
  reads_ready_.emplace(read_state.index, std::move(read));
}

void Node::Impl::ReleaseReads() {
  while (!reads_ready_.empty() && reads_ready_.begin()->first <= applied_) {
    auto node = reads_ready_.extract(reads_ready_.begin());
    completions_.emplace_back([done = std::move(node.mapped().done),
                               r = ReadResult{Status::Ok(), node.key(),
                                              raft_->leader()}]() mutable { done(std::move(r)); });
  }
}

void Node::Impl::OnSoftState(const SoftState& soft) {
  const SoftState old = soft_;
  soft_ = soft;
  if (soft.role == Role::kLeader && old.role != Role::kLeader) {
    spdlog::info("raft {}: won the election, leader at term {}", id(), raft_->term());
  } else if ((old.role == Role::kCandidate || old.role == Role::kPreCandidate) &&
             soft.role == Role::kFollower) {
    spdlog::info("raft {}: lost the election at term {}", id(), raft_->term());
  } else if (old.role != soft.role) {
    spdlog::info("raft {}: {} -> {} at term {}", id(), RoleName(old.role), RoleName(soft.role),
                 raft_->term());
  }
  if (old.leader != soft.leader) {
    spdlog::info("raft {}: leader {} -> {} at term {}", id(), old.leader, soft.leader,
                 raft_->term());
    // A read forwarded to a leader that is gone will never be answered.
    const Status s = NotLeaderStatus();
    for (auto& [context, read] : reads_asked_) read.done(ReadResult{s, 0, soft.leader});
    reads_asked_.clear();
  }
  if (old.role == Role::kLeader && soft.role != Role::kLeader) {
    // Entries proposed here may still commit under the next leader, or be
    // overwritten; this member can no longer tell which.
    Status s = NotLeaderStatus();
    s = Status::NotLeader("leadership lost before commit (outcome unknown); " + s.message());
    for (auto& [index, p] : pending_) {
      p.done(ProposeResult{s, index, {}, soft.leader, /*indeterminate=*/true});
    }
    pending_.clear();
  }
}

void Node::Impl::MaybeSnapshot() {
  if (options_.snapshot_threshold == 0 ||
      applied_ < snapshot_index_ + options_.snapshot_threshold) {
    return;
  }
  Result<Term> term = storage_->TermAt(applied_);
  if (!term.ok()) {
    Fail(term.status());
    return;
  }
  pb::SnapshotMetadata meta;
  meta.set_index(applied_);
  meta.set_term(*term);
  *meta.mutable_conf_state() = applied_conf_;
  // The whole snapshot runs on this thread and stalls the member meanwhile; the
  // log line says where the time went (the state image or the storage write).
  const Clock::time_point started = Clock::now();
  SnapshotEnvelope envelope{addresses_, state_machine_->Snapshot()};
  std::string image = EncodeSnapshotEnvelope(envelope);
  const Clock::time_point imaged = Clock::now();
  const size_t bytes = image.size();
  Status s = storage_->CreateSnapshot(meta, std::move(image), options_.snapshot_keep_entries);
  if (!s.ok()) {
    Fail(s);
    return;
  }
  snapshot_index_ = applied_;
  ++snapshots_taken_;
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  spdlog::info(
      "raft {}: snapshot taken at index {} term {} ({} bytes) in {} ms (image {} ms, storage "
      "{} ms); log now starts at {}",
      id(), meta.index(), meta.term(), bytes, ms(Clock::now() - started), ms(imaged - started),
      ms(Clock::now() - imaged), storage_->FirstIndex());
}

void Node::Impl::ExpireDeadlines() {
  const Clock::time_point now = Clock::now();
  const NodeId leader = raft_->leader();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    it->second.done(ProposeResult{Status::Timeout("not committed before the deadline (it may "
                                                  "still commit)"),
                                  it->first,
                                  {},
                                  leader,
                                  /*indeterminate=*/true});
    it = pending_.erase(it);
  }
  for (auto it = reads_asked_.begin(); it != reads_asked_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    it->second.done(ReadResult{Status::Timeout("no read index before the deadline"), 0, leader});
    it = reads_asked_.erase(it);
  }
  for (auto it = reads_ready_.begin(); it != reads_ready_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    it->second.done(ReadResult{Status::Timeout("read index not applied before the deadline"),
                               it->first, leader});
    it = reads_ready_.erase(it);
  }
}

void Node::Impl::Fail(const Status& cause) {
  if (failed_) return;
  failed_ = true;
  const Status error = Status::IOError("node " + std::to_string(id()) +
                                       " stopped (it cannot continue safely): " + cause.ToString());
  spdlog::error("raft {}: {}", id(), error.message());
  Inbox left;
  {
    std::lock_guard lock(mu_);
    error_ = error;
    std::swap(left, inbox_);
  }
  timer_.cancel();
  transport_->Stop();  // stop talking: peers must not rely on this member any more
  PublishStatus();     // before the callbacks, so their callers see the failure
  RunCompletions();    // decided before the failure (entries already applied)
  FailInbox(&left, error, kNoNode);
  FailPending(error);
}

void Node::Impl::FailPending(const Status& status) {
  for (auto& [index, p] : pending_) {
    p.done(ProposeResult{status, index, {}, kNoNode, /*indeterminate=*/true});
  }
  pending_.clear();
  for (auto& [context, r] : reads_asked_) r.done(ReadResult{status, 0, kNoNode});
  reads_asked_.clear();
  for (auto& [index, r] : reads_ready_) r.done(ReadResult{status, index, kNoNode});
  reads_ready_.clear();
}

void Node::Impl::PublishStatus() {
  NodeStatus s;
  s.raft = raft_->GetStatus();
  s.raft.applied = applied_;
  s.applied = applied_;
  s.leader = raft_->leader();
  s.snapshot_index = snapshot_index_;
  s.snapshots_taken = snapshots_taken_;
  s.snapshots_installed = snapshots_installed_;
  s.saves = saves_;
  s.synced_saves = synced_saves_;
  s.proposals_batched = proposals_batched_;
  s.messages_refused = messages_refused_;
  std::lock_guard lock(status_mu_);
  s.running = status_.running && !failed_;
  status_ = std::move(s);
}

}  // namespace coord::raft
