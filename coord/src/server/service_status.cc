// Service, part 3: member list, status, readiness and the figures for /metrics.
#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>

#include "server/service.h"

namespace coord::server {

using coord::v1::Response;

Response Service::MemberList(uint64_t id) const {
  const raft::NodeStatus st = raft_->GetStatus();
  Response r;
  r.set_id(id);
  auto add = [&](uint64_t member, bool learner) {
    coord::v1::Member* m = r.mutable_member_list()->add_members();
    m->set_id(member);
    m->set_learner(learner);
    const MemberInfo info = members_.Get(member);
    m->set_name(info.name);
    m->set_peer_address(info.peer_address);
    m->set_client_address(info.client_address);
  };
  for (uint64_t v : st.raft.conf_state.voters()) add(v, false);
  for (uint64_t l : st.raft.conf_state.learners()) add(l, true);
  r.mutable_member_list();
  router_.FillHeader(&r);
  return r;
}

Response Service::StatusResponse(uint64_t id) const {
  const raft::NodeStatus st = raft_->GetStatus();
  Response r;
  r.set_id(id);
  coord::v1::StatusResponse* s = r.mutable_status();
  s->set_leader_id(st.leader);
  s->set_leader_name(members_.NameOf(st.leader));
  std::map<uint64_t, bool> members;  // id -> learner
  for (uint64_t v : st.raft.conf_state.voters()) members[v] = false;
  for (uint64_t l : st.raft.conf_state.learners()) members[l] = true;
  members.emplace(options_.member_id, false);
  for (const auto& [member, learner] : members) {
    coord::v1::MemberStatus* m = s->add_members();
    m->set_id(member);
    m->set_name(members_.NameOf(member));
    m->set_term(st.raft.term);
    if (member == options_.member_id) {
      m->set_role(learner ? "learner" : std::string(raft::RoleName(st.raft.role)));
      m->set_commit_index(st.raft.commit);
      m->set_applied_index(st.applied);
      m->set_reachable(true);
      continue;
    }
    // Other members as this member sees them: exact progress only on the leader.
    m->set_role(learner ? "learner" : (member == st.leader ? "leader" : "follower"));
    for (const raft::FollowerProgress& p : st.raft.progress) {
      if (p.id != member) continue;
      m->set_applied_index(p.match);
      m->set_commit_index(std::min(p.match, st.raft.commit));
      m->set_reachable(p.recent_active);
    }
  }
  adapter_->Read([&](const StateMachine& sm) {
    s->set_revision(sm.revision());
    s->set_compacted_revision(sm.compacted_revision());
    r.mutable_header()->set_revision(sm.revision());
    return 0;
  });
  router_.FillHeader(&r);
  return r;
}

bool Service::Healthy() const {
  const raft::NodeStatus st = raft_->GetStatus();
  return st.running && st.error.ok();
}

bool Service::Ready() const {
  const raft::NodeStatus st = raft_->GetStatus();
  return st.running && st.error.ok() && st.leader != raft::kNoNode && st.applied >= st.raft.commit;
}

MetricsSnapshot Service::Gauges() const {
  const raft::NodeStatus st = raft_->GetStatus();
  MetricsSnapshot g;
  g.term = st.raft.term;
  g.commit_index = st.raft.commit;
  g.applied_index = st.applied;
  g.is_leader = st.raft.role == raft::Role::kLeader;
  g.has_leader = st.leader != raft::kNoNode;
  g.peer_messages_refused = st.messages_refused;
  if (peer_stats_) {
    const raft::TcpTransport::Stats peer = peer_stats_();
    g.peer_connections_refused = peer.refused;
    g.peer_frames_refused = peer.frames_refused;
    g.peer_bad_frames = peer.decode_errors;
    g.peer_bytes_sent = peer.bytes_sent;
    g.peer_bytes_received = peer.bytes_received;
  }
  adapter_->Read([&](const StateMachine& sm) {
    g.revision = sm.revision();
    g.compacted_revision = sm.compacted_revision();
    g.sessions = sm.Sessions().size();
    g.keys = sm.key_count();
    g.lock_waiters = sm.LockWaits().size();
    g.fencing_rejections = sm.fencing_rejections();
    const std::vector<TpcTimer> txns = sm.PendingTxnDeadlines();
    g.tpc_remembered = txns.size();
    g.tpc_in_doubt =
        static_cast<uint64_t>(std::count_if(txns.begin(), txns.end(), [](const TpcTimer& t) {
          return t.kind == TpcTimerKind::kTimeout;
        }));
    return 0;
  });
  g.watches = hub_->size();
  return g;
}

std::string Service::StatusText() const {
  const raft::NodeStatus st = raft_->GetStatus();
  const MetricsSnapshot g = Gauges();
  std::ostringstream o;
  o << "coordd member " << options_.name << " (id " << options_.member_id << ")\n"
    << "client " << options_.client_address << "  peer " << options_.peer_address << "\n"
    << "role " << raft::RoleName(st.raft.role) << "  term " << st.raft.term << "  leader "
    << (st.leader == raft::kNoNode ? std::string("none") : members_.NameOf(st.leader)) << "\n"
    << "commit " << st.raft.commit << "  applied " << st.applied << "\n"
    << "revision " << g.revision << "  compacted " << g.compacted_revision << "  keys " << g.keys
    << "  sessions " << g.sessions << "  watches " << g.watches << "\n"
    << "health " << (Healthy() ? "ok" : "FAILED " + st.error.ToString()) << "  ready "
    << (Ready() ? "yes" : "no") << "\n"
    << "endpoints: /v1/ws /healthz /readyz /metrics\n";
  return o.str();
}

}  // namespace coord::server
