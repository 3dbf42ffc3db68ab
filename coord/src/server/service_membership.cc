// Service, part 2: membership changes and leadership transfer (on the leader).
#include <algorithm>
#include <mutex>

#include "server/codec.h"
#include "server/service.h"

namespace coord::server {

using coord::v1::Request;
using coord::v1::Response;

bool LearnerCaughtUp(uint64_t match, uint64_t leader_commit) {
  // etcd's rule: within 10% of the leader. Integer form of match >= 0.9 * commit.
  return match * 10 >= leader_commit * 9;
}

void Service::AwaitLeader(raft::NodeId target, Clock::time_point deadline,
                          std::function<void(Status)> done) {
  if (raft_->GetStatus().leader == target) {
    done(Status::Ok());
  } else if (Clock::now() + RequestRouter::kRetryDelay >= deadline) {
    done(Status::Unavailable("leadership did not move to " + members_.NameOf(target) +
                             " before the deadline (it may still; see status)"));
  } else {
    router_.RetryLater([this, target, deadline, done] { AwaitLeader(target, deadline, done); });
  }
}

void Service::ProposeMembership(const Request& request, const std::string& user,
                                Clock::time_point deadline, Done done) {
  const uint64_t id = request.id();
  // The leader checks the rights again: the request may come from a follower.
  const Status allowed =
      adapter_->Read([&](const StateMachine& sm) { return sm.Authorize(user, request); });
  if (!allowed.ok()) {
    done(router_.ErrorOutcome(id, allowed));
    return;
  }
  auto finish = [this, id, done](Status s, Response ok, bool retryable = false) {
    if (!s.ok()) {
      done(router_.ErrorOutcome(id, s, retryable));
      return;
    }
    ok.set_id(id);
    router_.FillHeader(&ok);
    done(Outcome{std::move(ok), false});
  };
  auto on_result = [finish](Response ok) {
    return [finish, ok](raft::ProposeResult r) {
      if (r.status.ok()) {
        finish(r.status, ok);
        return;
      }
      // Never appended (not leader, transfer in progress, another change pending):
      // safe to try again until the deadline; appended: the outcome is unknown.
      const ProposalFailure failure = DescribeProposalFailure(r);
      finish(failure.status, ok, failure.retryable);
    };
  };
  raft::pb::ConfChange cc;
  Response ok;
  switch (request.body_case()) {
    case Request::kMemberAdd: {
      const auto& add = request.member_add();
      if (add.name().empty() || add.peer_address().empty()) {
        done(router_.ErrorOutcome(
            id, Status::InvalidArgument("member_add needs name and peer_address")));
        return;
      }
      const uint64_t member = MemberIdFromName(add.name());
      cc.set_type(add.learner() ? raft::pb::CONF_ADD_LEARNER : raft::pb::CONF_ADD_VOTER);
      cc.set_node_id(member);
      cc.set_context(add.peer_address());
      coord::v1::Member* m = ok.mutable_member_add()->mutable_member();
      m->set_id(member);
      m->set_name(add.name());
      m->set_peer_address(add.peer_address());
      m->set_client_address(add.client_address());
      m->set_learner(add.learner());
      break;
    }
    case Request::kMemberPromote: {
      if (request.member_promote().name().empty()) {
        done(router_.ErrorOutcome(id, Status::InvalidArgument("member_promote needs a name")));
        return;
      }
      const uint64_t member = MemberIdFromName(request.member_promote().name());
      // Only a learner can be promoted: promoting an unknown name would add a
      // voter that does not exist and silently raise the quorum.
      const raft::pb::ConfState conf = raft_->GetStatus().raft.conf_state;
      const auto has = [member](const auto& ids) {
        return std::find(ids.begin(), ids.end(), member) != ids.end();
      };
      if (has(conf.voters())) {
        done(router_.ErrorOutcome(id, Status::Conflict("member " + request.member_promote().name() +
                                                       " is already a voter")));
        return;
      }
      if (!has(conf.learners())) {
        done(router_.ErrorOutcome(
            id, Status::NotFound("no learner named " + request.member_promote().name())));
        return;
      }
      if (!request.member_promote().force()) {
        const raft::NodeStatus st = raft_->GetStatus();
        raft::Index match = 0;
        for (const raft::FollowerProgress& p : st.raft.progress) {
          if (p.id == member) match = p.match;
        }
        if (!LearnerCaughtUp(match, st.raft.commit)) {
          done(router_.ErrorOutcome(
              id, Status::Conflict("learner " + request.member_promote().name() +
                                   " has not caught up (it holds the log up to " +
                                   std::to_string(match) + " of the leader's commit " +
                                   std::to_string(st.raft.commit) +
                                   "); retry once it has, or promote with force")));
          return;
        }
      }
      cc.set_type(raft::pb::CONF_ADD_VOTER);
      cc.set_node_id(member);
      cc.set_context(members_.PeerAddressOf(member));
      ok.mutable_member_promote();
      break;
    }
    case Request::kMemberRemove: {
      if (request.member_remove().name().empty()) {
        done(router_.ErrorOutcome(id, Status::InvalidArgument("member_remove needs a name")));
        return;
      }
      const uint64_t member = MemberIdFromName(request.member_remove().name());
      const raft::pb::ConfState conf = raft_->GetStatus().raft.conf_state;
      const auto has = [member](const auto& ids) {
        return std::find(ids.begin(), ids.end(), member) != ids.end();
      };
      if (!has(conf.voters()) && !has(conf.learners())) {
        done(router_.ErrorOutcome(
            id, Status::NotFound("no member named " + request.member_remove().name())));
        return;
      }
      cc.set_type(raft::pb::CONF_REMOVE_NODE);
      cc.set_node_id(member);
      ok.mutable_member_remove();
      break;
    }
    case Request::kTransferLeadership: {
      const raft::NodeStatus st = raft_->GetStatus();
      raft::NodeId target = raft::kNoNode;
      if (!request.transfer_leadership().name().empty()) {
        target = MemberIdFromName(request.transfer_leadership().name());
      } else {
        raft::Index best = 0;
        for (const raft::FollowerProgress& p : st.raft.progress) {
          if (p.id == options_.member_id || p.learner) continue;
          if (target == raft::kNoNode || p.match > best) {
            target = p.id;
            best = p.match;
          }
        }
      }
      if (target == raft::kNoNode) {
        done(router_.ErrorOutcome(id, Status::InvalidArgument("no other voter to transfer to")));
        return;
      }
      ok.mutable_transfer_leadership();
      // A transfer that did not finish changed nothing the client must know of.
      raft_->TransferLeadership(target, [this, target, deadline, finish, ok](Status s) {
        if (!s.ok()) {
          finish(NotServed(s), ok);
          return;
        }
        AwaitLeader(target, deadline, [finish, ok](Status done) { finish(done, ok); });
      });
      return;
    }
    default:
      done(router_.ErrorOutcome(id, Status::InvalidArgument("not a membership request")));
      return;
  }
  if (request.body_case() == Request::kMemberAdd) {
    // After a read point, so a retirement committed under an earlier leader is
    // applied here before the check.
    raft_->ReadIndex(
        deadline, [this, request, deadline, cc, done, next = on_result(ok)](raft::ReadResult r) {
          const uint64_t id = request.id();
          if (!r.status.ok()) {
            done(router_.ErrorOutcome(id, NotServed(r.status), /*retryable=*/true));
            return;
          }
          const auto& add = request.member_add();
          const uint64_t member = cc.node_id();
          if (adapter_->Read([&](const StateMachine& sm) { return sm.IsRetiredMember(member); })) {
            done(router_.ErrorOutcome(
                id, Status::Conflict("the name " + add.name() +
                                     " belonged to a removed member and cannot be "
                                     "added again; add the new member under a new "
                                     "name")));
            return;
          }
          // Registered (name, addresses) only once the change is committed: a refused
          // or failed add must leave no trace in the member list.
          const MemberInfo info{add.name(), add.peer_address(), add.client_address()};
          raft_->ProposeConfChange(cc, deadline, [this, member, info, next](raft::ProposeResult r) {
            if (r.status.ok()) AddMember(member, info);
            next(std::move(r));
          });
        });
    return;
  }
  if (request.body_case() == Request::kMemberRemove) {
    // The id is retired (replicated, in snapshots) before the member leaves, so
    // its name can never come back with an empty disk and the same id, which
    // could vote twice in a term it voted in before.
    coord::state::Command retire;
    retire.mutable_member_retire()->set_member_id(cc.node_id());
    raft_->Propose(EncodeCommand(retire), deadline,
                   [this, cc, deadline, finish, ok, next = on_result(ok)](raft::ProposeResult r) {
                     if (!r.status.ok()) {
                       const ProposalFailure failure = DescribeProposalFailure(r);
                       finish(failure.status, ok, failure.retryable);
                       return;
                     }
                     raft_->ProposeConfChange(cc, deadline, next);
                   });
    return;
  }
  raft_->ProposeConfChange(cc, deadline, on_result(ok));
}

}  // namespace coord::server
