#include "request_kind.h"

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
      return true;
    default:
      return false;
  }
}

}  // namespace coord::v1
