// Linearizable reads: ReadIndex confirmed by a heartbeat round, and lease reads.
//
// A read is recorded at the current commit index together with a new heartbeat
// round. Each heartbeat carries its round number and send tick in the context;
// once a quorum of voters acknowledged a round >= the read's round, no other
// leader can have committed anything this leader does not know of at the time
// the read was recorded, so the read is released (reads are released in order).
#include <string>
#include <utility>

#include "core/quorum.h"
#include "core/raft_impl.h"

namespace coord::raft {

bool Raft::Impl::CommittedInCurrentTerm() const {
  return log_.TermOrZero(log_.committed()) == term_;
}

Status Raft::Impl::ReadIndex(std::string context) {
  if (role_ == Role::kLeader) {
    if (!CommittedInCurrentTerm()) {
      return Status::Unavailable("leader has not yet committed an entry of its term");
    }
    HandleReadIndexRequest(kNoNode, std::move(context));
    return Status::Ok();
  }
  if (lead_ == kNoNode) return Status::NotLeader("no leader known to serve the read");
  pb::Message m;
  m.set_type(pb::MSG_READ_INDEX);
  m.set_to(lead_);
  m.set_context(std::move(context));
  Send(std::move(m));
  return Status::Ok();
}

void Raft::Impl::HandleReadIndexRequest(NodeId from, std::string context) {
  // Before its first commit a new leader does not know the full commit index;
  // forwarded requests are dropped (the requester retries on its deadline).
  if (!CommittedInCurrentTerm()) return;
  Index index = log_.committed();
  const auto& voters = members_.voters();
  if (voters.size() == 1 && voters[0] == id_) {
    RespondRead(from, index, std::move(context));
    return;
  }
  if (cfg_.lease_reads && cfg_.check_quorum && LeaseValid()) {
    RespondRead(from, index, std::move(context));
    return;
  }
  pending_reads_.push_back(PendingRead{index, std::move(context), from, round_ + 1});
  BroadcastHeartbeat();  // starts round round_ + 1
}

void Raft::Impl::ReleaseReads() {
  const auto& voters = members_.voters();
  while (!pending_reads_.empty()) {
    const PendingRead& r = pending_reads_.front();
    size_t acks = 0;
    for (NodeId v : voters) {
      if (v == id_) {
        ++acks;
        continue;
      }
      auto it = prs_.find(v);
      if (it != prs_.end() && it->second.acked_round >= r.round) ++acks;
    }
    if (voters.empty() || acks < MajorityOf(voters.size())) return;
    PendingRead done = std::move(pending_reads_.front());
    pending_reads_.pop_front();
    RespondRead(done.from, done.index, std::move(done.context));
  }
}

bool Raft::Impl::LeaseValid() const {
  // The lease starts when the heartbeat a quorum acknowledged was *sent* (a
  // follower that got it refuses votes for an election timeout after that), and
  // lasts one tick less than an election timeout as a margin for tick skew.
  if (lease_forfeited_) return false;
  const auto& voters = members_.voters();
  if (voters.empty()) return false;
  scratch_.clear();
  for (NodeId v : voters) {
    if (v == id_) {
      scratch_.push_back(ticks_ + 1);
      continue;
    }
    auto it = prs_.find(v);
    scratch_.push_back(it == prs_.end() ? 0 : it->second.acked_tick);
  }
  uint64_t q = QuorumValue(scratch_);
  if (q == 0) return false;
  uint64_t sent_tick = q - 1;
  return ticks_ - sent_tick + 1 < static_cast<uint64_t>(cfg_.election_tick);
}

void Raft::Impl::RespondRead(NodeId from, Index index, std::string context) {
  if (from == kNoNode || from == id_) {
    read_states_.push_back(ReadState{index, std::move(context)});
    return;
  }
  pb::Message m;
  m.set_type(pb::MSG_READ_INDEX_RESP);
  m.set_to(from);
  m.set_index(index);
  m.set_context(std::move(context));
  Send(std::move(m));
}

}  // namespace coord::raft
