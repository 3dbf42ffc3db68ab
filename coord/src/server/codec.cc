#include "server/codec.h"

#include <google/protobuf/util/json_util.h>

namespace coord::server {

Result<coord::v1::Request> DecodeRequest(std::string_view payload, bool text) {
  coord::v1::Request request;
  if (text) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(payload.data(), payload.size()), &request, options);
    if (!status.ok()) {
      return Status::InvalidArgument("malformed JSON request: " + status.ToString());
    }
  } else if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::InvalidArgument("malformed protobuf request (" + std::to_string(payload.size()) +
                                   " bytes)");
  }
  if (request.body_case() == coord::v1::Request::BODY_NOT_SET) {
    return Status::InvalidArgument("request " + std::to_string(request.id()) +
                                   " has no body (unknown or missing request type)");
  }
  return request;
}

std::string EncodeServerMessage(const coord::v1::ServerMessage& message, bool text) {
  std::string out;
  if (text) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = false;
    // Our own messages always convert; a failure would be a bug, and then the
    // client gets an empty frame rather than a crash.
    (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  } else {
    message.SerializeToString(&out);
  }
  return out;
}

coord::v1::Error ApiError(const Status& status, const std::string& leader_hint) {
  coord::v1::Error error;
  coord::v1::ErrorCode code = coord::v1::INTERNAL;
  switch (status.code()) {
    case StatusCode::kOk:
      code = coord::v1::OK;
      break;
    case StatusCode::kInvalidArgument:
      code = coord::v1::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotFound:
      code = coord::v1::NOT_FOUND;
      break;
    case StatusCode::kCompacted:
      code = coord::v1::COMPACTED;
      break;
    case StatusCode::kSessionExpired:
      code = coord::v1::SESSION_EXPIRED;
      break;
    case StatusCode::kConflict:
      code = coord::v1::CONFLICT;
      break;
    case StatusCode::kTimeout:
      code = coord::v1::TIMEOUT;
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kNotLeader:
    case StatusCode::kAborted:
    case StatusCode::kIOError:
      code = coord::v1::UNAVAILABLE;
      break;
    case StatusCode::kTooLarge:
      code = coord::v1::TOO_LARGE;
      break;
    case StatusCode::kPermissionDenied:
      code = coord::v1::PERMISSION_DENIED;
      break;
    case StatusCode::kUnauthenticated:
      code = coord::v1::UNAUTHENTICATED;
      break;
    case StatusCode::kCorruption:
    case StatusCode::kInternal:
      code = coord::v1::INTERNAL;
      break;
  }
  error.set_code(code);
  error.set_message(status.message());
  if (code == coord::v1::UNAVAILABLE) error.set_leader_hint(leader_hint);
  return error;
}

coord::v1::Response ErrorResponse(uint64_t id, coord::v1::ErrorCode code, std::string message) {
  coord::v1::Response response;
  response.set_id(id);
  response.mutable_error()->set_code(code);
  response.mutable_error()->set_message(std::move(message));
  return response;
}

std::string RequestTypeName(const coord::v1::Request& request) {
  if (request.body_case() == coord::v1::Request::BODY_NOT_SET) return "none";
  const auto* field = coord::v1::Request::descriptor()->FindFieldByNumber(request.body_case());
  return field ? field->name() : "unknown";
}

}  // namespace coord::server
