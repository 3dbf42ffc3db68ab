#include "exit_codes.h"

namespace coord::ctl {

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kConflict:
      return kExitConflict;
    // kNotLeader and kAborted never cross the API edge, but a client library may
    // surface them for a connection that broke mid-request: transient, like
    // UNAVAILABLE.
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kNotLeader:
    case StatusCode::kAborted:
      return kExitUnavailable;
    case StatusCode::kSessionExpired:
      return kExitSessionLost;
    case StatusCode::kInvalidArgument:
    case StatusCode::kCompacted:
    case StatusCode::kTooLarge:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
    case StatusCode::kResourceExhausted:
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal:
      return kExitError;
  }
  return kExitError;
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

Outcome FromStatus(const Status& status) {
  if (status.ok()) return Outcome::Ok();
  return {ExitCodeFor(status.code()), OneLine(status.ToString())};
}

Outcome UsageError(std::string message) { return {kExitUsage, OneLine(std::move(message))}; }

}  // namespace coord::ctl
