#include "sim_workload.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "sim_app.h"

namespace coord::raft::sim {
namespace {

std::string S(uint64_t v) { return std::to_string(v); }

template <typename T>
T Pick(SimRng& rng, const std::vector<T>& v) {
  return v[rng.Uniform(v.size())];
}

// Drives one fault-phase run of the cluster.
class Workload {
 public:
  Workload(SimCluster& cluster, uint64_t seed, int members, int election_tick)
      : c_(cluster),
        rng_(cluster.rng()),
        seed_(seed),
        members_(members),
        election_tick_(election_tick) {
    // Per-seed fault intensity: calm, moderate or stormy runs.
    const double shares[] = {0.005, 0.015, 0.03, 0.06};
    fault_share_ = shares[rng_.Uniform(4)];
  }

  void Step() {
    // Scheduled recoveries: a crashed member comes back, a partition heals.
    for (auto it = restart_at_.begin(); it != restart_at_.end(); ++it) {
      if (it->second <= c_.now()) {
        const NodeId id = it->first;
        restart_at_.erase(it);
        if (c_.member(id) != nullptr && c_.member(id)->state == MemberState::kDown) {
          c_.Restart(id).IgnoreError();
        }
        return;
      }
    }
    if (heal_at_ != 0 && heal_at_ <= c_.now()) {
      heal_at_ = 0;
      c_.Heal();
      return;
    }
    if (c_.network().HasDue(c_.now()) && rng_.Chance(0.85)) {
      c_.DeliverOne();
      return;
    }
    const double r = rng_.Real();
    if (r < 0.85) {
      c_.TickSlot();
    } else if (r < 0.93) {
      Propose();
    } else if (r < 0.96) {
      std::vector<NodeId> up = c_.Ids(MemberState::kUp);
      if (!up.empty()) c_.ReadIndex(Pick(rng_, up)).IgnoreError();
    } else if (r < 0.96 + fault_share_) {
      Fault();
    } else {
      c_.TickSlot();
    }
  }

 private:
  std::string Payload() {
    std::string data = "s" + S(seed_) + "-" + S(++payloads_) + "-";
    data.append(rng_.Uniform(48), static_cast<char>('a' + rng_.Uniform(26)));
    return data;
  }

  void Propose() {
    std::vector<NodeId> up = c_.Ids(MemberState::kUp);
    if (up.empty()) return;
    std::optional<NodeId> leader = c_.Leader();
    const NodeId target = (leader && rng_.Chance(0.6)) ? *leader : Pick(rng_, up);
    if (rng_.Chance(0.15)) {
      std::vector<std::string> batch;
      // Mostly small groups, sometimes a burst that fills the flow-control window.
      const uint64_t n = rng_.Chance(0.1) ? rng_.Range(20, 100) : rng_.Range(2, 8);
      for (uint64_t i = 0; i < n; ++i) batch.push_back(Payload());
      c_.ProposeBatch(target, std::move(batch)).status().IgnoreError();
    } else {
      c_.Propose(target, Payload()).status().IgnoreError();
    }
  }

  void Fault() {
    const double r = rng_.Real();
    std::vector<NodeId> alive;  // not retired
    for (const auto& [id, m] : c_.members()) {
      if (m.state != MemberState::kRetired) alive.push_back(id);
    }
    std::vector<NodeId> up = c_.Ids(MemberState::kUp);
    std::vector<NodeId> down = c_.Ids(MemberState::kDown);
    if (r < 0.14) {
      // Symmetric partition: a random non-empty proper subset vs the rest.
      std::vector<NodeId> side;
      for (NodeId id : alive) {
        if (rng_.Chance(0.4)) side.push_back(id);
      }
      if (side.empty() || side.size() == alive.size()) side = {Target(alive)};
      c_.Partition(side);
      ScheduleHeal();
    } else if (r < 0.22) {
      const NodeId a = Pick(rng_, alive);
      const NodeId b = Pick(rng_, alive);
      if (a != b) c_.CutOneWay(a, b);
      ScheduleHeal();
    } else if (r < 0.32) {
      c_.Heal();
    } else if (r < 0.47) {
      if (!up.empty()) Crash(Target(up), /*after_persist=*/false);
    } else if (r < 0.57) {
      if (!up.empty()) Crash(Target(up), /*after_persist=*/true);
    } else if (r < 0.59) {
      // Every member dies at once (kill -9 of the whole ensemble): only what was
      // saved survives, and every acknowledged write must still be there.
      for (NodeId id : up) Crash(id, /*after_persist=*/false);
    } else if (r < 0.77) {
      if (!down.empty()) c_.Restart(Pick(rng_, down)).IgnoreError();
    } else if (r < 0.82) {
      NetworkFaults f;
      const double drops[] = {0.0, 0.01, 0.05, 0.15};
      const double dups[] = {0.0, 0.02, 0.1};
      const double longs[] = {0.0, 0.01, 0.03};
      f.drop = drops[rng_.Uniform(4)];
      f.duplicate = dups[rng_.Uniform(3)];
      f.max_delay = rng_.Range(0, 4 * members_);
      f.long_delay = longs[rng_.Uniform(3)];
      f.min_long_delay = 10 * members_;
      f.max_long_delay = 60 * members_;
      c_.SetNetworkFaults(f);
    } else if (r < 0.94) {
      ChangeMembership();
    } else {
      std::optional<NodeId> leader = c_.Leader();
      const auto& voters = c_.committed_conf().voters();
      if (leader && rng_.Chance(0.1)) {
        // Bad input gets a clear error: a transfer to a member that never existed.
        const NodeId bogus = 1000 + rng_.Uniform(1000);
        Status s = c_.TransferLeadership(*leader, bogus);
        if (s.code() != StatusCode::kInvalidArgument) {
          c_.Fail("TransferLeadership to unknown member " + S(bogus) + " answered " + s.ToString() +
                  " instead of INVALID_ARGUMENT");
        }
      } else if (leader && voters.size() > 1) {
        const NodeId target = voters[rng_.Uniform(voters.size())];
        if (target != *leader) c_.TransferLeadership(*leader, target).IgnoreError();
      }
    }
  }

  // The leader half of the time (faults that hit the leader are the
  // interesting ones), otherwise a random member of `ids` (non-empty).
  NodeId Target(const std::vector<NodeId>& ids) {
    std::optional<NodeId> leader = c_.Leader();
    if (leader && rng_.Chance(0.5) && std::find(ids.begin(), ids.end(), *leader) != ids.end()) {
      return *leader;
    }
    return Pick(rng_, ids);
  }

  // Crashes `id` (now, or right after its next persist) and schedules its
  // restart: usually within a few election timeouts, sometimes much later (so it
  // comes back to a compacted log and needs a snapshot).
  void Crash(NodeId id, bool after_persist) {
    if (after_persist) {
      c_.CrashAfterNextPersist(id);
    } else {
      c_.Crash(id);
    }
    const uint64_t timeout = static_cast<uint64_t>(election_tick_) * members_;
    const uint64_t delay = rng_.Chance(0.2) ? rng_.Range(10 * timeout, 40 * timeout)
                                            : rng_.Range(timeout / 2, 4 * timeout);
    restart_at_[id] = c_.now() + delay;
  }

  void ScheduleHeal() {
    const uint64_t timeout = static_cast<uint64_t>(election_tick_) * members_;
    const uint64_t at = c_.now() + rng_.Range(timeout / 2, 8 * timeout);
    if (heal_at_ == 0 || at < heal_at_) heal_at_ = at;
  }

  // At most one change in flight (the core enforces it and answers
  // kUnavailable; we simply try again later). Never below 3 voters.
  void ChangeMembership() {
    std::optional<NodeId> leader = c_.Leader();
    if (!leader) return;
    const pb::ConfState& conf = c_.committed_conf();
    std::vector<NodeId> voters(conf.voters().begin(), conf.voters().end());
    std::vector<NodeId> learners(conf.learners().begin(), conf.learners().end());
    if (!learners.empty() && rng_.Chance(0.5)) {
      c_.ChangeMembership(*leader, pb::CONF_ADD_VOTER, Pick(rng_, learners)).status().IgnoreError();
    } else if (voters.size() >= 4 && rng_.Chance(0.5)) {
      c_.ChangeMembership(*leader, pb::CONF_REMOVE_NODE, Pick(rng_, voters)).status().IgnoreError();
    } else if (adds_ < 3 && voters.size() + learners.size() < 7) {
      const NodeId id = c_.next_id();
      Result<Index> r = c_.ChangeMembership(*leader, pb::CONF_ADD_LEARNER, id);
      if (r.ok()) ++adds_;
    } else if (!learners.empty()) {
      c_.ChangeMembership(*leader, pb::CONF_REMOVE_NODE, Pick(rng_, learners))
          .status()
          .IgnoreError();
    }
  }

  SimCluster& c_;
  SimRng& rng_;
  uint64_t seed_;
  int members_;
  int election_tick_;
  double fault_share_;
  std::map<NodeId, uint64_t> restart_at_;  // crashed member -> scheduled restart time
  uint64_t heal_at_ = 0;                   // scheduled heal of all links (0 = none)
  uint64_t payloads_ = 0;
  int adds_ = 0;
};

}  // namespace

ClusterOptions OptionsForSeed(uint64_t seed, int members) {
  // A separate stream, so the options do not shift the run's own random stream.
  SimRng rng(seed ^ 0xC0FFEE0DDF00DULL);
  ClusterOptions o;
  o.members = members != 0 ? members : (rng.Chance(0.5) ? 3 : 5);
  o.election_tick = static_cast<int>(rng.Range(5, 12));
  o.heartbeat_tick = static_cast<int>(rng.Range(1, 3));
  o.snapshot_every = rng.Chance(0.1) ? 0 : rng.Range(3, 30);
  o.max_keep_entries = rng.Range(0, 6);
  o.snapshot_chunk_bytes = rng.Range(16, 300);
  o.max_msg_bytes = rng.Chance(0.5) ? rng.Range(1, 200) : 1 << 16;
  o.max_inflight_msgs = static_cast<int>(rng.Range(1, 8));
  o.pipeline_readies = rng.Chance(0.3) ? 0.3 : 0.0;
  o.persistent_app = rng.Chance(0.5);
  const double r = rng.Real();
  o.pre_vote = r < 0.9;
  o.check_quorum = r < 0.8 || r >= 0.95;
  // Lease reads only where they are claimed correct: check_quorum, no drift.
  o.lockstep_ticks = rng.Chance(0.3);
  o.lease_reads = o.check_quorum && o.lockstep_ticks && rng.Chance(0.5);
  return o;
}

bool HealAndCheckLiveness(SimCluster& c, int election_tick) {
  c.DisarmCrashes();
  c.SetNetworkFaults(NetworkFaults{});
  c.Heal();
  for (NodeId id : c.Ids(MemberState::kDown)) c.Restart(id).IgnoreError();
  if (c.failed()) return false;
  uint64_t alive = 0;
  for (const auto& [id, m] : c.members()) alive += m.state != MemberState::kRetired;
  // Time units; each member gets about one tick per `alive` units.
  const uint64_t bound = 40ULL * election_tick * alive;
  const uint64_t retry = 4ULL * election_tick * alive;
  const uint64_t start = c.now();
  uint64_t proposed_at = 0;
  Index marker_index = 0;
  pb::Entry marker;  // term, type, data of the current marker proposal
  uint64_t markers = 0;
  bool committed = false;
  // A leader must appear within `bound`. After that, catching up may
  // legitimately take long (small messages, an in-flight window of 1, no
  // snapshots, hundreds of entries accepted but not yet replicated), so the
  // cluster only has to keep making progress: the highest commit index or a live
  // member's applied index must grow at least once per `bound`, and everything
  // (marker committed and applied everywhere) must finish within 10 * bound.
  bool leader_seen = false;
  uint64_t progress = 0;
  uint64_t progress_at = start;
  auto fail = [&](const std::string& why) {
    std::ostringstream os;
    os << "liveness: " << why << " (healed at t=" << start << ", now t=" << c.now() << ")\n";
    c.Describe(os);
    c.Fail(os.str());
    return false;
  };
  while (!c.failed()) {
    leader_seen = leader_seen || c.Leader().has_value();
    if (!leader_seen && c.now() - start > bound) {
      return fail("no leader within " + S(bound) + " time units of healing");
    }
    uint64_t sum = c.checker().max_commit();
    for (NodeId id : c.LiveMembers()) sum += c.member(id)->app->applied();
    if (sum > progress) {
      progress = sum;
      progress_at = c.now();
    }
    if (c.now() - progress_at > bound) {
      return fail(std::string(committed ? "applied indexes" : "commit") + " made no progress for " +
                  S(bound) + " time units");
    }
    if (c.now() - start > 10 * bound) {
      return fail(std::string(committed ? "applied indexes did not converge"
                                        : "no new proposal committed") +
                  " within " + S(10 * bound) + " time units");
    }
    if (!committed && (marker_index == 0 || c.now() - proposed_at > retry)) {
      std::optional<NodeId> leader = c.Leader();
      if (leader) {
        std::string data = "liveness-marker-" + S(++markers);
        const Term term = c.member(*leader)->core->term();
        Result<Index> r = c.Propose(*leader, data);
        if (r.ok()) {
          marker_index = *r;
          marker.set_term(term);
          marker.set_type(pb::ENTRY_NORMAL);
          marker.set_data(data);
          proposed_at = c.now();
        }
      }
    }
    const SimChecker& ck = c.checker();
    if (!committed && marker_index != 0 && ck.max_applied() >= marker_index &&
        ck.applied_term(marker_index) == marker.term() &&
        ck.applied_hash(marker_index) == EntryHash(marker)) {
      committed = true;
    }
    if (committed) {
      bool done = true;
      for (NodeId id : c.LiveMembers()) {
        const Index applied = c.member(id)->app->applied();
        if (applied < marker_index || applied != ck.max_applied()) done = false;
      }
      // Every voter of the committed configuration must be live and caught up.
      for (NodeId v : c.committed_conf().voters()) {
        if (!c.IsUp(v)) done = false;
      }
      if (done) return true;
    }
    c.BackgroundStep();
  }
  return false;
}

RunResult RunSeed(const RunOptions& options) {
  RunResult result;
  ClusterOptions co = OptionsForSeed(options.seed, options.members);
  co.TEST_lose_hard_state = options.TEST_lose_hard_state;
  co.TEST_unsynced_saves = options.TEST_unsynced_saves;
  // A rolled-back store may be behind a persistent application: keep them apart.
  if (co.TEST_unsynced_saves > 0) co.persistent_app = false;
  result.members = co.members;
  SimCluster c(options.seed, co, options.trace);
  if (options.trace != nullptr) {
    *options.trace << "seed " << options.seed << ": " << co.members << " members, election "
                   << co.election_tick << " heartbeat " << co.heartbeat_tick << " snapshot every "
                   << co.snapshot_every << " keep<=" << co.max_keep_entries << " chunk "
                   << co.snapshot_chunk_bytes << " msg bytes " << co.max_msg_bytes << " inflight "
                   << co.max_inflight_msgs << " prevote " << co.pre_vote << " checkquorum "
                   << co.check_quorum << " pipeline " << co.pipeline_readies << " persistent-app "
                   << co.persistent_app << " lockstep " << co.lockstep_ticks << " lease-reads "
                   << co.lease_reads << "\n";
  }
  Status s = c.Start();
  if (s.ok()) {
    Workload w(c, options.seed, co.members, co.election_tick);
    for (uint64_t i = 0; i < options.steps && !c.failed(); ++i) w.Step();
    if (!c.failed() && options.liveness) {
      c.Trace("---- heal: liveness phase ----");
      HealAndCheckLiveness(c, co.election_tick);
    }
  } else if (!c.failed()) {
    c.Fail("start: " + s.ToString());
  }
  result.ok = !c.failed();
  result.violation = c.violation();
  result.steps = c.stats().steps;
  result.stats = c.stats();
  result.committed = c.checker().max_applied();
  result.leader_terms = c.checker().leader_terms();
  uint64_t d = MixHash(options.seed, result.steps);
  d = MixHash(d, c.now());
  d = MixHash(d, result.committed);
  d = MixHash(d, result.committed == 0 ? 0 : c.checker().applied_chain(result.committed));
  d = MixHash(d, c.network().sent());
  d = MixHash(d, c.network().dropped());
  d = MixHash(d, result.leader_terms);
  result.digest = d;
  std::ostringstream os;
  c.Describe(os);
  result.state = os.str();
  return result;
}

std::string ReplayCommand(const RunOptions& options) {
  std::string cmd = "raft-sim --seed " + S(options.seed);
  if (options.members != 0) cmd += " --members " + S(options.members);
  cmd += " --steps " + S(options.steps) + " --verbose";
  return cmd;
}

}  // namespace coord::raft::sim
