#include "wire_rules.h"

namespace coord::v1 {

bool IsWriteRequest(Request::BodyCase body) {
  switch (body) {
    case Request::kPut:
    case Request::kDelete:
    case Request::kTxn:
    case Request::kCompact:
    case Request::kSessionCreate:
    case Request::kSessionKeepalive:
    case Request::kSessionClose:
    case Request::kLockAcquire:
    case Request::kLockRelease:
    case Request::kLockRevoke:
    case Request::kElectionCampaign:
    case Request::kElectionResign:
    case Request::kElectionProclaim:
    case Request::kTpcBegin:
    case Request::kTpcVote:
    case Request::kTpcAck:
    case Request::kTopicCommitOffset:
    case Request::kTopicTrim:
    case Request::kAuthSet:
    case Request::kUserChange:
    case Request::kRoleChange:
      return true;
    default:
      return false;
  }
}

std::string_view TpcMirrorValue(TpcState state) {
  switch (state) {
    case TPC_PREPARING:
      return "PREPARING";
    case TPC_COMMITTED:
      return "COMMITTED";
    case TPC_ABORTED:
      return "ABORTED";
    default:
      return "UNKNOWN";
  }
}

std::optional<TpcState> TpcStateFromMirrorValue(std::string_view value) {
  for (TpcState s : {TPC_PREPARING, TPC_COMMITTED, TPC_ABORTED}) {
    if (value == TpcMirrorValue(s)) return s;
  }
  return std::nullopt;
}

}  // namespace coord::v1
