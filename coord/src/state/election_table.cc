// ElectionTable: campaign, resign, proclaim and session end.
//
// Terms: a new term starts exactly when the head of the queue becomes a different
// candidate than before (a new campaign on an empty queue, or the leader leaving
// with a successor). A leader leaving without a successor reports "no leader"
// (session 0) and keeps the term, so the next leader's term is still larger
// than every earlier one.
#include "state/election_table.h"

#include <algorithm>
#include <utility>

namespace coord::server {

coord::v1::ElectionLeader Election::Leader(const std::string& name) const {
  coord::v1::ElectionLeader out;
  out.set_name(name);
  out.set_term(term);
  if (!candidates.empty()) {
    out.set_session(candidates.front().session);
    out.set_value(candidates.front().value);
  }
  return out;
}

const Election* ElectionTable::Find(std::string_view name) const {
  auto it = elections_.find(name);
  return it == elections_.end() ? nullptr : &it->second;
}

void ElectionTable::AfterChange(const std::string& name, Election* e, int64_t old_leader,
                                std::vector<ElectionChange>* changes) {
  const int64_t leader = e->candidates.empty() ? 0 : e->candidates.front().session;
  if (leader == old_leader) return;
  if (leader != 0) ++e->term;
  changes->push_back(
      ElectionChange{name, leader, leader != 0 ? e->candidates.front().value : "", e->term});
}

void ElectionTable::Unindex(int64_t session, const std::string& name) {
  auto it = by_session_.find(session);
  if (it == by_session_.end()) return;
  it->second.erase(name);
  if (it->second.empty()) by_session_.erase(it);
}

ElectionTable::CampaignOutcome ElectionTable::Campaign(const std::string& name, int64_t session,
                                                       const std::string& value,
                                                       uint64_t raft_index,
                                                       std::vector<ElectionChange>* changes) {
  Election& e = elections_[name];
  for (size_t i = 0; i < e.candidates.size(); ++i) {
    if (e.candidates[i].session != session) continue;
    if (i == 0) return CampaignOutcome{true, e.term, 0};
    return CampaignOutcome{false, 0, static_cast<int64_t>(i)};
  }
  const int64_t old_leader = e.candidates.empty() ? 0 : e.candidates.front().session;
  e.candidates.push_back(Candidate{session, value, raft_index});
  by_session_[session].insert(name);
  AfterChange(name, &e, old_leader, changes);
  if (e.candidates.size() == 1) return CampaignOutcome{true, e.term, 0};
  return CampaignOutcome{false, 0, static_cast<int64_t>(e.candidates.size() - 1)};
}

Status ElectionTable::Resign(const std::string& name, int64_t session,
                             std::vector<ElectionChange>* changes) {
  auto found = elections_.find(name);
  if (found != elections_.end()) {
    Election& e = found->second;
    auto it = std::find_if(e.candidates.begin(), e.candidates.end(),
                           [&](const Candidate& c) { return c.session == session; });
    if (it != e.candidates.end()) {
      const int64_t old_leader = e.candidates.front().session;
      e.candidates.erase(it);
      Unindex(session, name);
      AfterChange(name, &e, old_leader, changes);
      return Status::Ok();
    }
  }
  return Status::NotFound("session " + std::to_string(session) +
                          " is not a candidate in election \"" + name + "\"");
}

Result<int64_t> ElectionTable::Proclaim(const std::string& name, int64_t session,
                                        const std::string& value,
                                        std::vector<ElectionChange>* changes) {
  auto found = elections_.find(name);
  if (found != elections_.end() && !found->second.candidates.empty()) {
    Election& e = found->second;
    Candidate& leader = e.candidates.front();
    if (leader.session == session) {
      leader.value = value;
      changes->push_back(ElectionChange{name, session, value, e.term});
      return e.term;
    }
    for (const Candidate& c : e.candidates) {
      if (c.session == session) {
        return Status::Conflict("session " + std::to_string(session) +
                                " is not the leader of election \"" + name + "\" (session " +
                                std::to_string(leader.session) + " is)");
      }
    }
  }
  return Status::NotFound("session " + std::to_string(session) +
                          " is not a candidate in election \"" + name + "\"");
}

void ElectionTable::EndSessions(const std::vector<int64_t>& sessions,
                                std::vector<ElectionChange>* changes) {
  std::set<std::string> affected;
  for (int64_t session : sessions) {
    auto it = by_session_.find(session);
    if (it == by_session_.end()) continue;
    affected.insert(it->second.begin(), it->second.end());
  }
  const std::set<int64_t> ending(sessions.begin(), sessions.end());
  for (const std::string& name : affected) {
    Election& e = elections_.at(name);
    const int64_t old_leader = e.candidates.front().session;
    e.candidates.erase(
        std::remove_if(e.candidates.begin(), e.candidates.end(),
                       [&](const Candidate& c) { return ending.count(c.session) != 0; }),
        e.candidates.end());
    AfterChange(name, &e, old_leader, changes);
  }
  for (int64_t session : ending) by_session_.erase(session);
}

void ElectionTable::ToSnapshot(coord::state::StateSnapshot* out) const {
  for (const auto& [name, e] : elections_) {
    coord::state::ElectionRecord* r = out->add_elections();
    r->set_name(name);
    r->set_term(e.term);
    for (const Candidate& c : e.candidates) {
      coord::state::CandidateRecord* cr = r->add_candidates();
      cr->set_session(c.session);
      cr->set_value(c.value);
      cr->set_campaign_index(c.campaign_index);
    }
  }
}

Status ElectionTable::Load(const coord::state::StateSnapshot& snapshot,
                           const std::function<bool(int64_t)>& live_session) {
  const std::string* prev = nullptr;
  for (const coord::state::ElectionRecord& r : snapshot.elections()) {
    auto bad = [&](const std::string& why) {
      return Status::Corruption("state snapshot: election \"" + r.name() + "\": " + why);
    };
    if (r.name().empty() || (prev != nullptr && r.name() <= *prev)) {
      return bad("empty or out of order");
    }
    prev = &r.name();
    if (r.term() < 0 || (r.candidates_size() > 0 && r.term() == 0)) return bad("bad term");
    Election& e = elections_[r.name()];
    e.term = r.term();
    for (const coord::state::CandidateRecord& c : r.candidates()) {
      if (!live_session(c.session()) || !by_session_[c.session()].insert(r.name()).second) {
        return bad("bad candidate session " + std::to_string(c.session()));
      }
      e.candidates.push_back(Candidate{c.session(), c.value(), c.campaign_index()});
    }
  }
  return Status::Ok();
}

}  // namespace coord::server
