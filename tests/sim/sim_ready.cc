// SimCluster, part 2: the Ready loop of each member and the end-of-step checks.
// (sim_cluster.cc has construction, the step primitives and queries.)
#include <algorithm>
#include <utility>

#include "sim_cluster.h"

namespace coord::raft::sim {
namespace {

std::string S(uint64_t v) { return std::to_string(v); }

bool Contains(const google::protobuf::RepeatedField<uint64_t>& field, uint64_t id) {
  return std::find(field.begin(), field.end(), id) != field.end();
}

}  // namespace

// ---- Ready processing -----------------------------------------------------------

void SimCluster::HandleReady(SimMember& m) {
  while (m.state == MemberState::kUp && !failed()) {
    if (!m.core->HasReady()) {
      if (m.unadvanced.empty()) return;
      // A pipelining member may keep handled Readies unadvanced into later steps.
      if (options_.pipeline_readies > 0 && rng_.Chance(options_.pipeline_readies)) return;
      AdvanceAll(m);
      continue;
    }
    if (!m.unadvanced.empty()) ++stats_.pipelined_readies;
    Ready rd = m.core->GetReady();
    if (rd.soft_state) {
      if (tracing()) {
        Trace("member " + S(m.id) + " is " + std::string(RoleName(rd.soft_state->role)) + " term " +
              S(m.core->term()) + " leader " + S(rd.soft_state->leader));
      }
      if (rd.soft_state->role == Role::kLeader) checker_.OnLeader(m.id, m.core->term());
    }
    // 1. Persist.
    Persist(m, rd);
    if (failed()) return;
    if (m.crash_after_persist && rd.MustPersist() &&
        (m.crash_min_index == 0 ||
         (!rd.entries.empty() && rd.entries.back().index() >= m.crash_min_index))) {
      Trace("member " + S(m.id) + " crashes after persisting, before sending " +
            S(rd.messages.size()) + " messages");
      StopMember(m);
      m.state = MemberState::kDown;
      ++stats_.crashes;
      return;
    }
    // 2. Send.
    for (pb::Message& msg : rd.messages) {
      if (msg.from() != m.id) {
        Fail("member " + S(m.id) + " produced a message with from=" + S(msg.from()));
        return;
      }
      network_.Send(std::move(msg), now_);
    }
    rd.messages.clear();
    // 3. Restore and apply; 4. serve reads.
    ApplyReady(m, rd);
    if (failed()) return;
    // 5. Advance (a pipelining member may first fetch and handle later Readies).
    m.unadvanced.push_back(std::move(rd));
    if (options_.pipeline_readies == 0) AdvanceAll(m);
  }
}

void SimCluster::AdvanceAll(SimMember& m) {
  for (const Ready& rd : m.unadvanced) m.core->Advance(rd);
  m.unadvanced.clear();
  MaybeSnapshot(m);
}

void SimCluster::Persist(SimMember& m, const Ready& rd) {
  if (!rd.MustPersist()) return;
  if (rd.hard_state) checker_.OnPersistHardState(m.id, *rd.hard_state);
  PersistBatch batch;
  batch.snapshot = rd.snapshot ? &*rd.snapshot : nullptr;
  batch.entries = rd.entries.empty() ? nullptr : &rd.entries;
  batch.hard_state = rd.hard_state ? &*rd.hard_state : nullptr;
  if (options_.TEST_lose_hard_state) batch.hard_state = nullptr;
  if (options_.TEST_unsynced_saves > 0 && rng_.Chance(options_.TEST_unsynced_saves)) {
    batch.sync = false;
    if (!m.durable) m.durable = std::make_unique<MemoryStorage>(*m.storage);
  }
  Status s = m.storage->Save(batch);
  if (batch.sync) m.durable.reset();
  if (!s.ok()) {
    Fail("member " + S(m.id) + ": Save of a Ready failed (the core asked to persist something " +
         "inconsistent with its log): " + s.ToString());
    return;
  }
  for (size_t k = 0; k < rd.entries.size(); ++k) {
    const pb::Entry& e = rd.entries[k];
    Term prev_term = 0;
    if (k > 0) {
      prev_term = rd.entries[k - 1].term();
    } else {
      Result<Term> t = m.storage->TermAt(e.index() - 1);
      if (!t.ok()) {
        Fail("member " + S(m.id) + ": term of index " + S(e.index() - 1) +
             " unknown right after persisting entry " + S(e.index()) + ": " +
             t.status().ToString());
        return;
      }
      prev_term = *t;
    }
    checker_.OnPersistEntry(m.id, e, prev_term);
  }
}

void SimCluster::ApplyReady(SimMember& m, const Ready& rd) {
  SimApp& app = *m.app;
  if (rd.snapshot) {
    const Index index = rd.snapshot->metadata().index();
    if (index < app.applied()) {
      Fail("member " + S(m.id) + " was asked to restore a snapshot at " + S(index) +
           " below its applied index " + S(app.applied()) + " (state would go backward)");
      return;
    }
    Status s = app.Restore(*rd.snapshot);
    if (!s.ok()) {
      Fail("member " + S(m.id) + ": restoring a received snapshot: " + s.ToString());
      return;
    }
    checker_.OnRestore(m.id, app.applied(), app.applied_term(), app.chain());
    ++m.restores;
    ++stats_.snapshots_restored;
    Trace("member " + S(m.id) + " restored snapshot at " + S(index));
  }
  for (const pb::Entry& e : rd.committed_entries) {
    Status s = app.Apply(e);
    if (!s.ok()) {
      Fail("member " + S(m.id) + ": " + s.ToString());
      return;
    }
    const bool first = checker_.OnApply(m.id, e, app.chain());
    if (first && e.type() == pb::ENTRY_CONF_CHANGE) {
      committed_conf_ = app.conf();
      ++stats_.conf_changes_committed;
      if (tracing()) Trace("committed conf: " + committed_conf_.ShortDebugString());
    }
    if (failed()) return;
  }
  for (const ReadState& rs : rd.read_states) {
    auto it = m.reads.find(rs.context);
    if (it == m.reads.end()) continue;  // a duplicate answer, or from before a restart
    ReadRequest req = it->second;
    m.reads.erase(it);
    req.read_index = rs.index;
    if (rs.index < req.must_include) {
      Fail("ReadIndex linearizability: member " + S(m.id) + " read " + req.context + " got index " +
           S(rs.index) + " but index " + S(req.must_include) +
           " was committed before the read started");
      return;
    }
    m.released.push_back(std::move(req));
  }
  ServeReads(m);
}

void SimCluster::ServeReads(SimMember& m) {
  auto it = m.released.begin();
  while (it != m.released.end()) {
    if (it->read_index > m.app->applied()) {
      ++it;
      continue;
    }
    if (m.app->applied() < it->must_include) {
      Fail("ReadIndex linearizability: member " + S(m.id) + " served " + it->context +
           " at applied " + S(m.app->applied()) + " missing committed index " +
           S(it->must_include));
      return;
    }
    ++m.reads_served;
    ++stats_.reads_served;
    it = m.released.erase(it);
  }
}

void SimCluster::MaybeSnapshot(SimMember& m) {
  if (options_.snapshot_every == 0) return;
  const SimApp& app = *m.app;
  const Index applied = app.applied();
  if (applied < m.storage->SnapshotMetadata().index() + options_.snapshot_every) return;
  if (applied > m.storage->HardState().commit() || applied > m.storage->LastIndex()) return;
  pb::SnapshotMetadata meta;
  meta.set_index(applied);
  meta.set_term(app.applied_term());
  *meta.mutable_conf_state() = app.conf();
  const uint64_t keep = rng_.Uniform(options_.max_keep_entries + 1);
  Status s = m.storage->CreateSnapshot(meta, app.EncodeImage(), keep);
  if (!s.ok()) {
    Fail("member " + S(m.id) + ": CreateSnapshot at applied index " + S(applied) +
         " failed: " + s.ToString());
    return;
  }
  ++stats_.snapshots_created;
}

// ---- End of step: invariants -------------------------------------------------------

void SimCluster::EndStep() {
  ++stats_.steps;
  for (auto& [id, m] : members_) {
    if (m.state == MemberState::kUp) HandleReady(m);
  }
  if (failed()) return;
  UpdateMembership();
  for (auto& [id, m] : members_) {
    if (m.state == MemberState::kUp) CheckMember(m);
  }
}

void SimCluster::CheckMember(SimMember& m) {
  Raft& core = *m.core;
  const Term term = core.term();
  if (term < m.last_term) {
    Fail("member " + S(m.id) + " term went back from " + S(m.last_term) + " to " + S(term));
    return;
  }
  m.last_term = term;
  const Index commit = core.commit();
  if (commit < m.last_commit) {
    Fail("member " + S(m.id) + " commit went back from " + S(m.last_commit) + " to " + S(commit));
    return;
  }
  if (commit > m.last_commit) {
    checker_.OnCommit(m.id, term, commit, core.TermAt(commit));
    m.last_commit = commit;
  }
  if (core.role() == Role::kLeader) {
    checker_.OnLeader(m.id, term);
    if (m.checked_leader_term != term || m.checked_version != checker_.watermark_version()) {
      m.checked_leader_term = term;
      m.checked_version = checker_.watermark_version();
      checker_.CheckLeaderLog(
          m.id, term, [&core](Index i) { return core.TermAt(i); },
          m.storage->SnapshotMetadata().index());
    }
  }
}

void SimCluster::UpdateMembership() {
  for (auto& [id, m] : members_) {
    if (m.state == MemberState::kRetired) continue;
    const bool in_conf =
        Contains(committed_conf_.voters(), id) || Contains(committed_conf_.learners(), id);
    if (in_conf) {
      if (!m.joined) ++stats_.members_joined;
      m.joined = true;
    } else if (m.joined) {
      ++stats_.members_retired;
      // Its removal committed: shut it down for good, as a real deployment would.
      Trace("member " + S(id) + " retired (removed from the configuration)");
      StopMember(m);
      m.state = MemberState::kRetired;
    }
  }
}

}  // namespace coord::raft::sim
