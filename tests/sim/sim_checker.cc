#include "sim_checker.h"

#include "sim_app.h"

namespace coord::raft::sim {
namespace {

std::string S(uint64_t v) { return std::to_string(v); }

}  // namespace

SimChecker::SimChecker() { applied_.push_back(AppliedRec{0, 0, 0}); }

void SimChecker::Fail(const std::string& what) {
  if (violation_.empty()) violation_ = what;
}

void SimChecker::OnLeader(NodeId id, Term term) {
  auto [it, inserted] = leaders_.emplace(term, id);
  if (!inserted && it->second != id) {
    Fail("election safety: two leaders in term " + S(term) + ": " + S(it->second) + " and " +
         S(id));
  }
}

void SimChecker::OnPersistEntry(NodeId id, const pb::Entry& entry, Term prev_term) {
  const uint64_t hash = EntryHash(entry);
  if (entry.index() == 0 || entry.term() == 0) {
    Fail("member " + S(id) + " persisted an entry with index " + S(entry.index()) + " term " +
         S(entry.term()));
    return;
  }
  if (prev_term > entry.term()) {
    Fail("member " + S(id) + " persisted entry (" + S(entry.index()) + "," + S(entry.term()) +
         ") after an entry of a higher term " + S(prev_term));
    return;
  }
  auto [it, inserted] =
      log_.emplace(std::make_pair(entry.index(), entry.term()), LogRec{hash, prev_term, id});
  if (inserted) return;
  if (it->second.hash != hash) {
    Fail("log matching: entry (" + S(entry.index()) + "," + S(entry.term()) + ") on member " +
         S(id) + " differs from the one first persisted by member " + S(it->second.first_by));
  } else if (it->second.prev_term != prev_term) {
    Fail("log matching: entry (" + S(entry.index()) + "," + S(entry.term()) + ") on member " +
         S(id) + " follows an entry of term " + S(prev_term) + " but on member " +
         S(it->second.first_by) + " it follows term " + S(it->second.prev_term));
  }
}

void SimChecker::OnPersistHardState(NodeId id, const pb::HardState& hs) {
  if (hs.vote() == kNoNode) return;
  auto [it, inserted] = votes_.emplace(std::make_pair(id, hs.term()), hs.vote());
  if (!inserted && it->second != hs.vote()) {
    Fail("member " + S(id) + " changed its persisted vote in term " + S(hs.term()) + " from " +
         S(it->second) + " to " + S(hs.vote()));
  }
}

bool SimChecker::OnApply(NodeId id, const pb::Entry& entry, uint64_t chain_after) {
  const Index i = entry.index();
  const uint64_t hash = EntryHash(entry);
  if (i < applied_.size()) {
    const AppliedRec& rec = applied_[i];
    if (rec.term != entry.term() || rec.hash != hash) {
      Fail("state machine safety: member " + S(id) + " applied (" + S(i) + "," + S(entry.term()) +
           ") but (" + S(i) + "," + S(rec.term) + ") with another payload was applied before");
    } else if (rec.chain != chain_after) {
      Fail("state machine safety: member " + S(id) + " state after applying index " + S(i) +
           " differs from the global history (an earlier entry differs)");
    }
    return false;
  }
  if (i != applied_.size()) {
    Fail("member " + S(id) + " applied index " + S(i) + " but the highest index applied anywhere " +
         "is " + S(applied_.size() - 1));
    return false;
  }
  if (i > max_commit_) max_commit_ = i;
  applied_.push_back(AppliedRec{entry.term(), hash, chain_after});
  return true;
}

void SimChecker::OnRestore(NodeId id, Index index, Term term, uint64_t chain) {
  if (index == 0) return;
  if (index >= applied_.size()) {
    Fail("member " + S(id) + " restored a snapshot at index " + S(index) +
         " that no member has applied");
    return;
  }
  const AppliedRec& rec = applied_[index];
  if (rec.term != term || rec.chain != chain) {
    Fail("state machine safety: member " + S(id) + " restored a snapshot at (" + S(index) + "," +
         S(term) + ") whose state differs from the global history");
  }
}

void SimChecker::OnCommit(NodeId id, Term observer_term, Index commit, Term entry_term) {
  if (commit == 0) return;
  if (commit > max_commit_) max_commit_ = commit;
  if (commit < applied_.size() && entry_term != 0 && applied_[commit].term != entry_term) {
    Fail("member " + S(id) + " has committed (" + S(commit) + "," + S(entry_term) + ") but (" +
         S(commit) + "," + S(applied_[commit].term) + ") was applied");
    return;
  }
  if (entry_term == 0) return;
  auto& mark = watermarks_[observer_term];
  if (commit > mark.first) {
    mark = {commit, entry_term};
    ++watermark_version_;
  }
}

void SimChecker::CheckLeaderLog(NodeId id, Term term, const std::function<Term(Index)>& term_at,
                                Index snapshot_index) {
  for (const auto& [observer_term, mark] : watermarks_) {
    if (observer_term >= term) break;
    const auto [index, entry_term] = mark;
    if (index <= snapshot_index) continue;
    const Term have = term_at(index);
    if (have != entry_term) {
      Fail("leader completeness: leader " + S(id) + " of term " + S(term) + " has term " + S(have) +
           " at index " + S(index) + ", but (" + S(index) + "," + S(entry_term) +
           ") was committed by term " + S(observer_term));
      return;
    }
  }
}

}  // namespace coord::raft::sim
