// Access control at apply time and for served reads (issue 11): who may do what.
//
// Every client command is checked when it is applied, on every member, against
// the user the receiving member authenticated (Command.user) and the replicated
// roles; so a follower that forwards a write cannot widen what its user may do,
// and a role revoked before a write is applied stops it. Internal commands
// (expiry, checkpoints, timeouts, member retirement) come from the leader's own
// timers and are not checked. Reads are checked by the serving member with the
// same rules (StateMachine::Authorize), under the state lock.
//
// What each request needs (namespaces and accesses of permission.h):
//   put / delete                      KEYS WRITE on the key or range (READWRITE
//                                     with prev_kv; a sequential put: its prefix)
//   range, read-only txn              KEYS READ on the range
//   txn                               every compare (READ; LOCKS READ for a
//                                     LOCK_TOKEN compare) and every op of both
//                                     branches
//   append (in a txn)                 KEYS WRITE on the topic prefix
//   topic_read / topic_commit_offset  KEYS READ on the topic prefix
//   topic_trim                        KEYS WRITE on the topic prefix
//   lock_*                            LOCKS WRITE on the name (inspect, list: READ)
//   election_*                        ELECTIONS WRITE on the name (leader: READ)
//   tpc_begin                         TPC WRITE on every participant
//   tpc_vote / tpc_ack                TPC WRITE on the participant
//   tpc_get                           TPC READ on every participant of the txn
//   tpc_list                          TPC READ on the participant (none: on all)
//   session_*                         any authenticated user
//   watch_create                      any authenticated user; events are filtered
//                                     per key (MayReadKey)
//   compact, session_list, member changes, auth management: root
//   member_list, status, auth_status, authenticate: anyone
// While auth is disabled everything is allowed (users and roles can be set up
// before enabling it).
#include <string>

#include "state/state_machine_impl.h"

namespace coord::server {

namespace {

using coord::v1::Request;
using Cmd = coord::state::Command;

const char* AccessVerb(Access access) {
  switch (access) {
    case Access::kRead:
      return "read";
    case Access::kWrite:
      return "write";
    case Access::kReadWrite:
      return "read and write";
  }
  return "use";
}

const char* SpaceNoun(PermissionSpace space) {
  switch (space) {
    case PermissionSpace::kKeys:
      return "keys";
    case PermissionSpace::kLocks:
      return "lock";
    case PermissionSpace::kElections:
      return "election";
    case PermissionSpace::kTpc:
      return "2PC participant";
  }
  return "names";
}

std::string DescribeRange(const KeyRange& range) {
  if (range.single) return "\"" + range.begin + "\"";
  if (range.unbounded) return "from \"" + range.begin + "\" on";
  return "[\"" + range.begin + "\", \"" + range.end + "\")";
}

KeyRange PrefixRange(std::string_view prefix) {
  // MakeKeyRange never fails with prefix = true.
  return *MakeKeyRange(prefix, "", true);
}

// Checks one user's requests; the rules of the table above.
class Checker {
 public:
  Checker(const AuthTable& auth, const TpcTable& tpc, std::string_view user)
      : auth_(auth), tpc_(tpc), user_(user) {}

  Status Need(PermissionSpace space, Access access, const KeyRange& range) const {
    if (auth_.Allowed(user_, space, access, range)) return Status::Ok();
    return Status::PermissionDenied("user \"" + std::string(user_) + "\" may not " +
                                    AccessVerb(access) + " " + SpaceNoun(space) + " " +
                                    DescribeRange(range));
  }
  Status Need(PermissionSpace space, Access access, std::string_view name) const {
    return Need(space, access, SingleKeyRange(name));
  }
  Status Root(const char* what) const {
    if (auth_.IsRoot(user_)) return Status::Ok();
    return Status::PermissionDenied(std::string(what) + " needs role \"root\" (user \"" +
                                    std::string(user_) + "\" does not have it)");
  }
  // Keys named by a request; an invalid range is left to validation, which
  // refuses it before anything is changed or read.
  Status Keys(Access access, std::string_view key, std::string_view range_end,
              bool prefix) const {
    Result<KeyRange> range = MakeKeyRange(key, range_end, prefix);
    if (!range.ok()) return Status::Ok();
    return Need(PermissionSpace::kKeys, access, *range);
  }

  Status Put(const coord::v1::PutRequest& put) const {
    const Access a = put.prev_kv() ? Access::kReadWrite : Access::kWrite;
    if (put.sequential()) return Need(PermissionSpace::kKeys, a, PrefixRange(put.key()));
    return Keys(a, put.key(), "", false);
  }
  Status Delete(const coord::v1::DeleteRequest& del) const {
    return Keys(del.prev_kv() ? Access::kReadWrite : Access::kWrite, del.key(), del.range_end(),
                del.prefix());
  }
  Status Range(const coord::v1::RangeRequest& range) const {
    return Keys(Access::kRead, range.key(), range.range_end(), range.prefix());
  }
  Status Topic(Access access, std::string_view topic) const {
    return Need(PermissionSpace::kKeys, access, PrefixRange(topic));
  }
  Status Txn(const coord::v1::TxnRequest& txn) const {
    for (const coord::v1::Compare& c : txn.compare()) {
      COORD_RETURN_IF_ERROR(c.target() == coord::v1::Compare::LOCK_TOKEN
                                ? Need(PermissionSpace::kLocks, Access::kRead, c.key())
                                : Keys(Access::kRead, c.key(), "", false));
    }
    for (const auto* ops : {&txn.success(), &txn.failure()}) {
      for (const coord::v1::TxnOp& op : *ops) {
        switch (op.op_case()) {
          case coord::v1::TxnOp::kPut:
            COORD_RETURN_IF_ERROR(Put(op.put()));
            break;
          case coord::v1::TxnOp::kRange:
            COORD_RETURN_IF_ERROR(Range(op.range()));
            break;
          case coord::v1::TxnOp::kDelete:
            COORD_RETURN_IF_ERROR(Delete(op.delete_()));
            break;
          case coord::v1::TxnOp::kAppend:
            COORD_RETURN_IF_ERROR(Topic(Access::kWrite, op.append().topic()));
            break;
          case coord::v1::TxnOp::OP_NOT_SET:
            break;
        }
      }
    }
    return Status::Ok();
  }
  Status TpcBegin(const coord::v1::TpcBeginRequest& begin) const {
    for (const std::string& p : begin.participants()) {
      COORD_RETURN_IF_ERROR(Need(PermissionSpace::kTpc, Access::kWrite, p));
    }
    return Status::Ok();
  }
  Status TpcGet(const coord::v1::TpcGetRequest& get) const {
    const TpcTxn* txn = tpc_.Find(get.txn_id());
    if (txn == nullptr) return Status::Ok();  // NOT_FOUND tells nothing
    for (const TpcParticipantState& p : txn->participants) {
      COORD_RETURN_IF_ERROR(Need(PermissionSpace::kTpc, Access::kRead, p.name));
    }
    return Status::Ok();
  }
  Status TpcList(const coord::v1::TpcListRequest& list) const {
    if (list.participant().empty()) {
      return Need(PermissionSpace::kTpc, Access::kRead, PrefixRange(""));
    }
    return Need(PermissionSpace::kTpc, Access::kRead, list.participant());
  }

 private:
  const AuthTable& auth_;
  const TpcTable& tpc_;
  std::string_view user_;
};

}  // namespace

Status StateMachine::Impl::Authenticated(std::string_view user) const {
  if (!auth_.enabled()) return Status::Ok();
  if (user.empty()) {
    return Status::Unauthenticated(
        "auth is enabled: authenticate first (authenticate with name and password or a token)");
  }
  if (auth_.FindUser(user) == nullptr) {
    return Status::Unauthenticated("user \"" + std::string(user) + "\" does not exist any more");
  }
  return Status::Ok();
}

Status StateMachine::Impl::AuthorizeCommand(const coord::state::Command& c) const {
  switch (c.body_case()) {
    case Cmd::kSessionExpire:
    case Cmd::kSessionCheckpoint:
    case Cmd::kLockWaitTimeout:
    case Cmd::kTpcTimeout:
    case Cmd::kTpcForget:
    case Cmd::kMemberRetire:
    case Cmd::BODY_NOT_SET:
      return Status::Ok();  // the leader's own
    default:
      break;
  }
  COORD_RETURN_IF_ERROR(Authenticated(c.user()));
  if (!auth_.enabled()) return Status::Ok();
  const Checker check(auth_, tpc_, c.user());
  switch (c.body_case()) {
    case Cmd::kPut:
      return check.Put(c.put());
    case Cmd::kDelete:
      return check.Delete(c.delete_());
    case Cmd::kTxn:
      return check.Txn(c.txn());
    case Cmd::kCompact:
      return check.Root("compact");
    case Cmd::kLockAcquire:
      return check.Need(PermissionSpace::kLocks, Access::kWrite, c.lock_acquire().name());
    case Cmd::kLockRelease:
      return check.Need(PermissionSpace::kLocks, Access::kWrite, c.lock_release().name());
    case Cmd::kLockRevoke:
      return check.Need(PermissionSpace::kLocks, Access::kWrite, c.lock_revoke().name());
    case Cmd::kElectionCampaign:
      return check.Need(PermissionSpace::kElections, Access::kWrite,
                        c.election_campaign().name());
    case Cmd::kElectionResign:
      return check.Need(PermissionSpace::kElections, Access::kWrite, c.election_resign().name());
    case Cmd::kElectionProclaim:
      return check.Need(PermissionSpace::kElections, Access::kWrite,
                        c.election_proclaim().name());
    case Cmd::kTpcBegin:
      return check.TpcBegin(c.tpc_begin());
    case Cmd::kTpcVote:
      return check.Need(PermissionSpace::kTpc, Access::kWrite, c.tpc_vote().participant());
    case Cmd::kTpcAck:
      return check.Need(PermissionSpace::kTpc, Access::kWrite, c.tpc_ack().participant());
    case Cmd::kTopicCommitOffset:
      return check.Topic(Access::kRead, c.topic_commit_offset().topic());
    case Cmd::kTopicTrim:
      return check.Topic(Access::kWrite, c.topic_trim().topic());
    case Cmd::kAuthSet:
    case Cmd::kUserChange:
    case Cmd::kRoleChange:
      return check.Root("managing users, roles and auth");
    default:  // sessions
      return Status::Ok();
  }
}

Status StateMachine::Impl::AuthorizeRequest(std::string_view user, const Request& r) const {
  switch (r.body_case()) {
    case Request::kAuthenticate:
    case Request::kAuthStatus:
    case Request::kMemberList:
    case Request::kStatus:
      return Status::Ok();
    default:
      break;
  }
  COORD_RETURN_IF_ERROR(Authenticated(user));
  if (!auth_.enabled()) return Status::Ok();
  const Checker check(auth_, tpc_, user);
  switch (r.body_case()) {
    case Request::kRange:
      return check.Range(r.range());
    case Request::kTxn:
      return check.Txn(r.txn());
    case Request::kPut:
      return check.Put(r.put());
    case Request::kDelete:
      return check.Delete(r.delete_());
    case Request::kLockInspect:
      return check.Need(PermissionSpace::kLocks, Access::kRead, r.lock_inspect().name());
    case Request::kLockList:
      return check.Need(PermissionSpace::kLocks, Access::kRead, PrefixRange(r.lock_list().prefix()));
    case Request::kElectionLeader:
      return check.Need(PermissionSpace::kElections, Access::kRead, r.election_leader().name());
    case Request::kTpcGet:
      return check.TpcGet(r.tpc_get());
    case Request::kTpcList:
      return check.TpcList(r.tpc_list());
    case Request::kTopicRead:
      return check.Topic(Access::kRead, r.topic_read().topic());
    case Request::kUserList:
      if (!r.user_list().name().empty() && r.user_list().name() == user) return Status::Ok();
      return check.Root("listing users");
    case Request::kRoleList:
      return check.Root("listing roles");
    case Request::kSessionList:
      return check.Root("session_list");
    case Request::kAuthSet:
    case Request::kUserChange:
    case Request::kRoleChange:
      // Checked before the member hashes a password for it, too.
      return check.Root("managing users, roles and auth");
    case Request::kMemberAdd:
    case Request::kMemberPromote:
    case Request::kMemberRemove:
    case Request::kTransferLeadership:
      return check.Root("changing the membership");
    default:
      // Other writes are checked when applied (AuthorizeCommand); sessions and
      // watches need only an authenticated user.
      return Status::Ok();
  }
}

bool StateMachine::Impl::MayReadKey(std::string_view user, std::string_view key) const {
  return !auth_.enabled() || auth_.Allowed(user, PermissionSpace::kKeys, Access::kRead, key);
}

}  // namespace coord::server
