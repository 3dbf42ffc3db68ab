// Log replication on both sides: APPEND/HEARTBEAT, their responses, the commit
// rule and per-follower flow control.
#include <algorithm>
#include <string>
#include <utility>

#include "core/check.h"
#include "core/quorum.h"
#include "core/raft_impl.h"

namespace coord::raft {
namespace {

// Heartbeat context: the round number and the leader tick it was sent at, both
// little-endian u64. Followers echo it unchanged.
std::string EncodeRound(uint64_t round, uint64_t tick) {
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) {
    s[i] = static_cast<char>((round >> (8 * i)) & 0xff);
    s[8 + i] = static_cast<char>((tick >> (8 * i)) & 0xff);
  }
  return s;
}

bool DecodeRound(const std::string& s, uint64_t* round, uint64_t* tick) {
  if (s.size() != 16) return false;
  *round = 0;
  *tick = 0;
  for (int i = 0; i < 8; ++i) {
    *round |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
    *tick |= static_cast<uint64_t>(static_cast<unsigned char>(s[8 + i])) << (8 * i);
  }
  return true;
}

}  // namespace

void Raft::Impl::Send(pb::Message m) {
  m.set_from(id_);
  if (m.term() == 0) m.set_term(term_);
  msgs_.push_back(std::move(m));
}

// ---- leader side ---------------------------------------------------------------------

bool Raft::Impl::MaybeSendAppend(NodeId to, Progress& pr, bool send_if_empty) {
  if (pr.IsPaused()) return false;
  Index prev = pr.next - 1;
  Result<Term> prev_term = log_.TermOf(prev);
  if (!prev_term.ok()) {
    if (prev_term.status().code() == StatusCode::kCompacted) return SendSnapshot(to, pr);
    return false;
  }
  pb::Message m;
  Index last = log_.LastIndex();
  uint64_t bytes = 0;
  if (pr.next <= last) {
    Result<size_t> got =
        log_.CopyEntriesTo(pr.next, last + 1, cfg_.max_msg_bytes, m.mutable_entries(), &bytes);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kCompacted) return SendSnapshot(to, pr);
      return false;
    }
  }
  if (m.entries_size() == 0 && !send_if_empty) return false;

  m.set_type(pb::MSG_APPEND);
  m.set_to(to);
  m.set_index(prev);
  m.set_log_term(*prev_term);
  m.set_commit(log_.committed());
  if (m.entries_size() > 0) {
    Index sent_last = m.entries(m.entries_size() - 1).index();
    if (pr.state == ProgressState::kReplicate) {
      pr.OptimisticUpdate(sent_last);
      pr.inflights.Add(sent_last, bytes);
    }
  }
  if (pr.state == ProgressState::kProbe) pr.probe_sent = true;
  Send(std::move(m));
  return true;
}

void Raft::Impl::SendHeartbeat(NodeId to, const Progress& pr, const std::string& context) {
  pb::Message m;
  m.set_type(pb::MSG_HEARTBEAT);
  m.set_to(to);
  // Never more than the follower is known to hold: its log beyond match may
  // still differ from ours.
  m.set_commit(std::min(pr.match, log_.committed()));
  m.set_context(context);
  Send(std::move(m));
}

void Raft::Impl::BroadcastAppend() {
  for (auto& [id, pr] : prs_) {
    if (id == id_ || !MaybeSendAppend(id, pr, true)) continue;
    // Pipeline as much as the window allows.
    while (pr.state == ProgressState::kReplicate && MaybeSendAppend(id, pr, false)) {
    }
  }
}

void Raft::Impl::BroadcastHeartbeat() {
  ++round_;
  std::string ctx = EncodeRound(round_, ticks_);
  for (auto& [id, pr] : prs_) {
    if (id == id_) continue;
    // A snapshot chunk may have been lost; resending it is harmless (the
    // follower ignores duplicates and re-requests what it misses).
    if (pr.state == ProgressState::kSnapshot && pr.snapshot) SendSnapshotChunk(id, pr);
    SendHeartbeat(id, pr, ctx);
  }
}

bool Raft::Impl::MaybeCommit() {
  const auto& voters = members_.voters();
  if (voters.empty()) return false;
  scratch_.clear();
  for (NodeId v : voters) {
    if (v == id_) {
      // Our own persisted index, not the last: an entry counts toward a quorum
      // only once it is durable here, as on every follower (whose acks follow
      // its own persist). The driver persists before it sends, so today the two
      // rarely differ; with asynchronous persistence counting LastIndex would
      // commit entries a crash can still lose.
      scratch_.push_back(log_.PersistedIndex());
      continue;
    }
    auto it = prs_.find(v);
    scratch_.push_back(it == prs_.end() ? 0 : it->second.match);
  }
  Index index = QuorumValue(scratch_);
  // §5.4.2: only an entry of the current term is committed by counting replicas;
  // earlier entries are committed indirectly with it.
  if (index > log_.committed() && log_.TermOrZero(index) == term_) {
    log_.CommitTo(index);
    return true;
  }
  return false;
}

void Raft::Impl::StepDownIfRemoved() {
  // A leader removed from the voters keeps leading until the removal commits
  // (it must replicate it), then steps down.
  if (role_ == Role::kLeader && !members_.IsVoter(id_) &&
      members_.LastChangeIndex() <= log_.committed()) {
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::Impl::HandleAppendResponse(const pb::Message& m, Progress& pr) {
  const NodeId from = m.from();
  if (m.reject()) {
    if (pr.state == ProgressState::kSnapshot) return;  // the snapshot answers for itself
    // Fast backtracking: jump over the follower's whole conflicting term.
    Index next_probe = m.reject_hint();
    if (m.hint_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.hint_term());
    if (pr.MaybeDecrTo(m.index(), next_probe)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      MaybeSendAppend(from, pr, true);
    }
    return;
  }
  if (m.index() > log_.LastIndex()) return;  // acknowledges what we never sent
  const bool was_paused = pr.IsPaused();
  const bool updated = pr.MaybeUpdate(m.index());
  switch (pr.state) {
    case ProgressState::kProbe:
      // An answer confirming exactly our match (e.g. to an empty probe) also
      // shows where the logs meet: start pipelining.
      if (!updated && m.index() != pr.match) return;  // stale
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match < pr.pending_snapshot) {
        if (!updated) return;
        break;  // an older acknowledgement; the transfer goes on
      }
      // Installed (or caught up otherwise). Resume from the log if it still
      // reaches; if we compacted past the follower meanwhile, probing from its
      // match starts a transfer of our newer snapshot.
      if (pr.match + 1 >= log_.FirstIndex()) {
        pr.BecomeProbe();
        pr.BecomeReplicate();
      } else {
        pr.BecomeProbe();
        pr.next = pr.match + 1;
      }
      break;
    case ProgressState::kReplicate:
      if (!updated) return;  // stale
      pr.inflights.FreeLE(m.index());
      break;
  }
  if (MaybeCommit()) {
    BroadcastAppend();  // tells everyone the new commit index
    StepDownIfRemoved();
    if (role_ != Role::kLeader) return;
    if (!members_.IsMember(from) && members_.LastChangeIndex() <= log_.committed()) {
      PruneRemovedProgress();  // `pr` (the removed member's) is gone now
      return;
    }
    PruneRemovedProgress();
  } else if (was_paused) {
    // The follower was waiting on us and may not know the commit index yet.
    MaybeSendAppend(from, pr, true);
  }
  // Keep the pipeline full.
  while (MaybeSendAppend(from, pr, false)) {
  }
  if (from == lead_transferee_ && pr.match == log_.LastIndex()) SendTimeoutNow(from);
}

void Raft::Impl::HandleHeartbeatResponse(const pb::Message& m, Progress& pr) {
  uint64_t round = 0;
  uint64_t tick = 0;
  if (DecodeRound(m.context(), &round, &tick)) {
    pr.acked_round = std::max(pr.acked_round, round);
    pr.acked_tick = std::max(pr.acked_tick, tick + 1);  // 0 = never acknowledged
    if (!pending_reads_.empty()) ReleaseReads();
  }
  pr.probe_sent = false;
  // The follower is alive; if acknowledgements were lost the window may be full
  // forever, so free one slot to let an APPEND (and a fresh answer) through.
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirstOne();
  if (pr.match < log_.LastIndex()) MaybeSendAppend(m.from(), pr, true);
}

void Raft::Impl::AppendAsLeader(std::vector<pb::Entry>&& entries) {
  if (entries.empty()) return;
  bool conf_changed = false;
  for (const pb::Entry& e : entries) {
    if (e.type() == pb::ENTRY_CONF_CHANGE) {
      conf_changed |= members_.AppendEntry(e.index(), e.data()).ok();
    }
  }
  log_.Append(std::move(entries));
  Progress& self = prs_.at(id_);
  self.match = log_.LastIndex();
  self.next = self.match + 1;
  if (conf_changed) OnMembershipChanged();
  MaybeCommit();
}

void Raft::Impl::OnMembershipChanged() {
  if (role_ != Role::kLeader) return;
  Index last = log_.LastIndex();
  PruneRemovedProgress();
  auto add = [&](NodeId id, bool learner) {
    auto [it, inserted] =
        prs_.try_emplace(id, last + 1, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes);
    // A new member counts as active until the next check-quorum round, so adding
    // it cannot make the leader step down at once.
    if (inserted) it->second.recent_active = true;
    it->second.learner = learner;
  };
  for (NodeId v : members_.voters()) add(v, false);
  for (NodeId l : members_.learners()) add(l, true);
  if (lead_transferee_ != kNoNode && !members_.IsVoter(lead_transferee_)) AbortLeaderTransfer();
  // The quorum changed: pending reads may now have enough acknowledgements.
  if (!pending_reads_.empty()) ReleaseReads();
}

void Raft::Impl::PruneRemovedProgress() {
  // A removed member keeps receiving the log until its removal commits, so it
  // normally learns that it was removed (and stops campaigning). It never counts
  // for any quorum meanwhile: quorums are computed over members_ only.
  if (members_.LastChangeIndex() > log_.committed()) return;
  for (auto it = prs_.begin(); it != prs_.end();) {
    if (it->first != id_ && !members_.IsMember(it->first)) {
      it = prs_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- follower side -------------------------------------------------------------------

Status Raft::Impl::HandleAppend(pb::Message& m) {
  pb::Message resp;
  resp.set_type(pb::MSG_APPEND_RESP);
  resp.set_to(m.from());
  if (m.index() < log_.committed()) {
    // Everything up to our commit index is known to match the leader.
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return Status::Ok();
  }
  if (!log_.MatchTerm(m.index(), m.log_term())) {
    // Fast backtracking: point the leader at the last index whose term is not
    // newer than its entry's, so it skips our whole conflicting term at once.
    Index hint = std::min(m.index(), log_.LastIndex());
    hint = log_.FindConflictByTerm(hint, m.log_term());
    resp.set_index(m.index());
    resp.set_reject(true);
    resp.set_reject_hint(hint);
    resp.set_hint_term(log_.TermOrZero(hint));
    Send(std::move(resp));
    return Status::Ok();
  }
  Index last_new = m.index() + static_cast<Index>(m.entries_size());
  Index conflict = log_.FindConflict(m.entries());
  if (conflict != 0) {
    if (conflict <= log_.committed()) {
      return Status::Internal("append from " + std::to_string(m.from()) +
                              " conflicts with committed entry " + std::to_string(conflict));
    }
    // Conf changes in the truncated suffix are rolled back; the new ones apply
    // as soon as they are appended.
    members_.TruncateFrom(conflict);
    size_t skip = conflict - m.index() - 1;
    std::vector<pb::Entry> ents;
    ents.reserve(m.entries_size() - skip);
    auto* src = m.mutable_entries();
    for (int k = static_cast<int>(skip); k < src->size(); ++k) {
      pb::Entry& e = *src->Mutable(k);
      if (e.type() == pb::ENTRY_CONF_CHANGE) {
        members_.AppendEntry(e.index(), e.data()).IgnoreError();  // invalid = no-op
      }
      ents.push_back(std::move(e));
    }
    log_.Append(std::move(ents));
  }
  log_.CommitTo(std::min(m.commit(), last_new));
  resp.set_index(last_new);
  Send(std::move(resp));
  return Status::Ok();
}

void Raft::Impl::HandleHeartbeat(const pb::Message& m) {
  log_.CommitTo(std::min(m.commit(), log_.LastIndex()));
  pb::Message resp;
  resp.set_type(pb::MSG_HEARTBEAT_RESP);
  resp.set_to(m.from());
  resp.set_context(m.context());
  Send(std::move(resp));
}

}  // namespace coord::raft
