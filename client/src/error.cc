#include "coord/client/error.h"

#include <string>

namespace coord {

StatusCode StatusCodeFromWire(coord::v1::ErrorCode code) {
  switch (code) {
    case coord::v1::OK:
      return StatusCode::kOk;
    case coord::v1::INVALID_ARGUMENT:
      return StatusCode::kInvalidArgument;
    case coord::v1::NOT_FOUND:
      return StatusCode::kNotFound;
    case coord::v1::COMPACTED:
      return StatusCode::kCompacted;
    case coord::v1::SESSION_EXPIRED:
      return StatusCode::kSessionExpired;
    case coord::v1::CONFLICT:
      return StatusCode::kConflict;
    case coord::v1::TIMEOUT:
      return StatusCode::kTimeout;
    case coord::v1::UNAVAILABLE:
      return StatusCode::kUnavailable;
    case coord::v1::TOO_LARGE:
      return StatusCode::kTooLarge;
    case coord::v1::PERMISSION_DENIED:
      return StatusCode::kPermissionDenied;
    case coord::v1::UNAUTHENTICATED:
      return StatusCode::kUnauthenticated;
    case coord::v1::RESOURCE_EXHAUSTED:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kInternal;
  }
}

coord::v1::ErrorCode WireFromStatusCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return coord::v1::OK;
    case StatusCode::kInvalidArgument:
      return coord::v1::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return coord::v1::NOT_FOUND;
    case StatusCode::kCompacted:
      return coord::v1::COMPACTED;
    case StatusCode::kSessionExpired:
      return coord::v1::SESSION_EXPIRED;
    case StatusCode::kConflict:
      return coord::v1::CONFLICT;
    case StatusCode::kTimeout:
      return coord::v1::TIMEOUT;
    case StatusCode::kUnavailable:
    case StatusCode::kNotLeader:
    case StatusCode::kAborted:
      return coord::v1::UNAVAILABLE;
    case StatusCode::kTooLarge:
      return coord::v1::TOO_LARGE;
    case StatusCode::kPermissionDenied:
      return coord::v1::PERMISSION_DENIED;
    case StatusCode::kUnauthenticated:
      return coord::v1::UNAUTHENTICATED;
    case StatusCode::kResourceExhausted:
      return coord::v1::RESOURCE_EXHAUSTED;
    default:
      return coord::v1::INTERNAL;
  }
}

Status StatusFromError(const coord::v1::Error& error) {
  const StatusCode code = StatusCodeFromWire(error.code());
  if (code == StatusCode::kOk) return Status::Ok();
  std::string message = error.message();
  if (message.empty()) message = "error code " + std::to_string(static_cast<int>(error.code()));
  if (code == StatusCode::kCompacted) {
    message += " (compacted revision " + std::to_string(error.compacted_revision()) + ")";
  }
  return Status(code, std::move(message));
}

}  // namespace coord
