// ElectionTable: named elections, each a FIFO queue of candidates whose head is
// the leader, and a term that grows by one whenever a candidate becomes leader.
//
// Invariants (checked on restore): a session appears at most once per election;
// term >= 1 whenever there is a leader; by_session_ lists exactly the elections
// where a session is a candidate. An election's record stays after its last
// candidate leaves, so the term never goes back.
//
// The table trusts its caller on names and sessions; validation with errors lives
// in election_ops.cc.
//
// Thread-safety: none (owned by StateMachine::Impl).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/server/state_machine.h"
#include "coord/status.h"
#include "state.pb.h"

namespace coord::server {

struct Candidate {
  int64_t session = 0;
  std::string value;
  uint64_t campaign_index = 0;  // Raft index of the campaign
};

struct Election {
  int64_t term = 0;
  std::deque<Candidate> candidates;  // head = leader

  // The API view of the leader (session 0 when there is none).
  coord::v1::ElectionLeader Leader(const std::string& name) const;
};

class ElectionTable {
 public:
  struct CampaignOutcome {
    bool leader = false;
    int64_t term = 0;      // when leader
    int64_t position = 0;  // 1-based queue position behind the leader otherwise
  };

  const Election* Find(std::string_view name) const;
  const std::map<std::string, Election, std::less<>>& elections() const { return elections_; }

  // Joins the queue (leader at once if it is empty). A session that already
  // campaigns gets its current standing back; its value is not changed (proclaim
  // does that).
  CampaignOutcome Campaign(const std::string& name, int64_t session, const std::string& value,
                           uint64_t raft_index, std::vector<ElectionChange>* changes);
  // The leader or a queued candidate withdraws. NOT_FOUND if not a candidate.
  Status Resign(const std::string& name, int64_t session, std::vector<ElectionChange>* changes);
  // The leader sets its value; returns the term. NOT_FOUND if not a candidate,
  // CONFLICT if a candidate but not the leader.
  Result<int64_t> Proclaim(const std::string& name, int64_t session, const std::string& value,
                           std::vector<ElectionChange>* changes);
  // The sessions' candidacies are withdrawn; leader changes reported in name order.
  void EndSessions(const std::vector<int64_t>& sessions, std::vector<ElectionChange>* changes);

  void ToSnapshot(coord::state::StateSnapshot* out) const;
  // Errors: CORRUPTION.
  Status Load(const coord::state::StateSnapshot& snapshot,
              const std::function<bool(int64_t)>& live_session);

 private:
  // Call after candidates changed; reports (and starts a term for) a new head.
  void AfterChange(const std::string& name, Election* e, int64_t old_leader,
                   std::vector<ElectionChange>* changes);
  void Unindex(int64_t session, const std::string& name);

  std::map<std::string, Election, std::less<>> elections_;
  std::map<int64_t, std::set<std::string>> by_session_;
};

}  // namespace coord::server
