// Chunked InstallSnapshot on both sides.
//
// The leader sends one chunk at a time (stop-and-wait) and moves on when the
// follower acknowledges it with MSG_SNAPSHOT_RESP carrying the next offset it
// wants. Lost chunks are resent with each heartbeat; the follower ignores
// duplicates and gaps by re-requesting the offset it needs, so any loss,
// duplication or reordering converges. On the last chunk the follower installs
// the snapshot and answers with an APPEND_RESP for the snapshot index, which puts
// the leader back into normal replication.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "core/raft_impl.h"

namespace coord::raft {

bool Raft::Impl::SendSnapshot(NodeId to, Progress& pr) {
  Result<pb::Snapshot> snap = storage_->GetSnapshot();
  if (!snap.ok() || snap->metadata().index() == 0) return false;  // retried later
  pr.BecomeSnapshot(snap->metadata().index());
  pr.snapshot = std::make_shared<const pb::Snapshot>(std::move(*snap));
  SendSnapshotChunk(to, pr);
  return true;
}

void Raft::Impl::SendSnapshotChunk(NodeId to, Progress& pr) {
  const pb::Snapshot& snap = *pr.snapshot;
  uint64_t total = snap.data().size();
  uint64_t offset = std::min(pr.snapshot_offset, total);
  uint64_t len = std::min<uint64_t>(cfg_.snapshot_chunk_bytes, total - offset);
  pb::Message m;
  m.set_type(pb::MSG_SNAPSHOT);
  m.set_to(to);
  pb::SnapshotChunk* chunk = m.mutable_snapshot();
  *chunk->mutable_metadata() = snap.metadata();
  chunk->set_offset(offset);
  chunk->set_data(snap.data().substr(offset, len));
  chunk->set_done(offset + len == total);
  chunk->set_total_size(total);
  Send(std::move(m));
}

void Raft::Impl::HandleSnapshotResponse(const pb::Message& m, Progress& pr) {
  if (pr.state != ProgressState::kSnapshot || !pr.snapshot) return;
  if (m.snapshot().metadata().index() != pr.pending_snapshot) return;  // another transfer
  uint64_t total = pr.snapshot->data().size();
  uint64_t want = m.index();
  if (want > total) return;
  pr.snapshot_idle_ticks = 0;
  // An answer asking for what we already sent last is a duplicate; the chunk
  // is in flight (or will be resent with the next heartbeat).
  if (want == pr.snapshot_offset) return;
  pr.snapshot_offset = want;
  if (want < total) SendSnapshotChunk(m.from(), pr);
}

Status Raft::Impl::HandleSnapshotChunk(const pb::Message& m) {
  const pb::SnapshotChunk& c = m.snapshot();
  const pb::SnapshotMetadata& md = c.metadata();
  auto respond_append = [&](Index index) {
    pb::Message resp;
    resp.set_type(pb::MSG_APPEND_RESP);
    resp.set_to(m.from());
    resp.set_index(index);
    Send(std::move(resp));
  };
  auto respond_offset = [&](uint64_t want) {
    pb::Message resp;
    resp.set_type(pb::MSG_SNAPSHOT_RESP);
    resp.set_to(m.from());
    resp.set_index(want);
    pb::SnapshotMetadata* id = resp.mutable_snapshot()->mutable_metadata();
    id->set_index(md.index());
    id->set_term(md.term());
    Send(std::move(resp));
  };

  if (md.index() <= log_.committed()) {
    // Not newer than what we have: tell the leader where we are instead.
    snap_recv_ = SnapshotReceive{};
    respond_append(log_.committed());
    return Status::Ok();
  }
  // A transfer is identified by its sender and term (one leader per term) and
  // the snapshot it carries; chunks of another transfer are never mixed in.
  bool same = snap_recv_.active && snap_recv_.from == m.from() && snap_recv_.term == m.term() &&
              snap_recv_.metadata.index() == md.index() &&
              snap_recv_.metadata.term() == md.term() && snap_recv_.total_size == c.total_size();
  if (c.offset() == 0) {
    snap_recv_ = SnapshotReceive{};
    snap_recv_.active = true;
    snap_recv_.from = m.from();
    snap_recv_.term = m.term();
    snap_recv_.metadata = md;
    snap_recv_.total_size = c.total_size();
  } else if (!same || c.offset() != snap_recv_.data.size()) {
    // A gap, a duplicate, or a chunk of a transfer we do not hold: ask for the
    // offset we need.
    respond_offset(same ? snap_recv_.data.size() : 0);
    return Status::Ok();
  }
  snap_recv_.data.append(c.data());
  if (!c.done()) {
    respond_offset(snap_recv_.data.size());
    return Status::Ok();
  }
  if (snap_recv_.data.size() != snap_recv_.total_size) {
    snap_recv_ = SnapshotReceive{};
    respond_offset(0);
    return Status::InvalidArgument("last snapshot chunk arrived before the image is complete");
  }
  pb::Snapshot snap;
  *snap.mutable_metadata() = std::move(snap_recv_.metadata);
  snap.set_data(std::move(snap_recv_.data));
  snap_recv_ = SnapshotReceive{};
  if (RestoreSnapshot(std::move(snap))) {
    respond_append(log_.LastIndex());
  } else {
    respond_append(log_.committed());
  }
  return Status::Ok();
}

bool Raft::Impl::RestoreSnapshot(pb::Snapshot&& snapshot) {
  const pb::SnapshotMetadata& md = snapshot.metadata();
  Index index = md.index();
  if (index <= log_.committed()) return false;
  if (log_.MatchTerm(index, md.term())) {
    // Our log already holds the snapshot's last entry: just commit up to it.
    log_.CommitTo(index);
    return false;
  }
  pb::ConfState cs = md.conf_state();
  log_.Restore(std::move(snapshot));
  members_.Reset(cs, index);
  OnMembershipChanged();
  return true;
}

}  // namespace coord::raft
