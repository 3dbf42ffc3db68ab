// FakeRaftHost: a RaftHost for unit tests of the server's parts. It reports the
// role and leader a test sets; as leader it either applies each proposal to a
// real raft::StateMachine at once (the default when one is attached) or holds it
// until the test completes it, so a test decides exactly when and how a
// proposal ends. Read points are granted at once while a leader is known and
// refused (kUnavailable) otherwise. Payloads sent to peers are recorded.
#pragma once

#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "server/raft_host.h"

namespace coord::server {

class FakeRaftHost : public RaftHost {
 public:
  struct Proposal {
    std::string data;
    Clock::time_point deadline;
    ProposeCallback done;
  };

  explicit FakeRaftHost(raft::NodeId self) : self_(self) {}

  // The known leader (kNoNode: none); `self` makes this member the leader.
  void SetLeader(raft::NodeId leader) {
    std::lock_guard lock(mu_);
    leader_ = leader;
  }
  // Proposals on the leader are applied to `sm` at once (borrowed; null: held).
  void ApplyTo(raft::StateMachine* sm) {
    std::lock_guard lock(mu_);
    sm_ = sm;
  }
  void HoldProposals(bool hold) {
    std::lock_guard lock(mu_);
    hold_ = hold;
  }

  // Proposals held so far, oldest first; the caller completes them.
  std::vector<Proposal> TakeProposals() {
    std::lock_guard lock(mu_);
    std::vector<Proposal> out(std::make_move_iterator(held_.begin()),
                              std::make_move_iterator(held_.end()));
    held_.clear();
    return out;
  }
  std::vector<std::pair<raft::NodeId, std::string>> TakeSent() {
    std::lock_guard lock(mu_);
    return std::exchange(sent_, {});
  }
  size_t proposals() const {
    std::lock_guard lock(mu_);
    return proposals_;
  }
  // Applies `data` to the attached state machine as the next entry.
  raft::ProposeResult ApplyNow(const std::string& data) {
    std::lock_guard lock(mu_);
    return ApplyLocked(data);
  }

  void Propose(std::string data, Clock::time_point deadline, ProposeCallback done) override {
    std::unique_lock lock(mu_);
    ++proposals_;
    if (leader_ != self_) {
      lock.unlock();
      raft::ProposeResult r;
      r.status = Status::NotLeader("fake: not the leader");
      r.leader_hint = leader_;
      done(std::move(r));  // never appended
      return;
    }
    if (hold_ || sm_ == nullptr) {
      held_.push_back(Proposal{std::move(data), deadline, std::move(done)});
      return;
    }
    raft::ProposeResult r = ApplyLocked(data);
    lock.unlock();
    done(std::move(r));
  }
  void ProposeConfChange(raft::pb::ConfChange, Clock::time_point, ProposeCallback done) override {
    raft::ProposeResult r;
    r.status = Status::Unavailable("fake: no membership changes");
    done(std::move(r));
  }
  void ReadIndex(Clock::time_point, ReadCallback done) override {
    raft::ReadResult r;
    {
      std::lock_guard lock(mu_);
      r.index = index_;
      r.leader_hint = leader_;
      r.status = leader_ == raft::kNoNode ? Status::Unavailable("fake: no leader") : Status::Ok();
    }
    done(std::move(r));
  }
  // Starts nothing: the test moves leadership with SetLeader (or does not).
  void TransferLeadership(raft::NodeId target, DoneCallback done) override {
    {
      std::lock_guard lock(mu_);
      transfer_target_ = target;
    }
    done(Status::Ok());
  }
  raft::NodeId transfer_target() const {
    std::lock_guard lock(mu_);
    return transfer_target_;
  }
  void SendApp(raft::NodeId to, std::string payload) override {
    std::lock_guard lock(mu_);
    sent_.emplace_back(to, std::move(payload));
  }
  raft::NodeStatus GetStatus() const override {
    std::lock_guard lock(mu_);
    raft::NodeStatus st;
    st.running = true;
    st.leader = leader_;
    st.applied = index_;
    st.raft.id = self_;
    st.raft.term = 1;
    st.raft.commit = index_;
    st.raft.role = leader_ == self_ ? raft::Role::kLeader : raft::Role::kFollower;
    return st;
  }

 private:
  raft::ProposeResult ApplyLocked(const std::string& data) {
    raft::ProposeResult r;
    r.index = ++index_;
    auto applied = sm_->Apply(r.index, data);
    if (applied.ok()) {
      r.result = std::move(*applied);
    } else {
      r.status = applied.status();
    }
    return r;
  }

  const raft::NodeId self_;
  mutable std::mutex mu_;
  raft::NodeId leader_ = raft::kNoNode;
  raft::StateMachine* sm_ = nullptr;
  bool hold_ = false;
  raft::Index index_ = 0;
  size_t proposals_ = 0;
  raft::NodeId transfer_target_ = raft::kNoNode;
  std::deque<Proposal> held_;
  std::vector<std::pair<raft::NodeId, std::string>> sent_;
};

}  // namespace coord::server
