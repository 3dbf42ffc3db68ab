#include "server/codec.h"

#include <google/protobuf/util/json_util.h>

#include "coord/server/state_machine.h"

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
  // The state machine's mapping, except that an I/O error here means this member
  // failed: the client should go to another member, so it is UNAVAILABLE.
  coord::v1::Error error = ErrorFromStatus(
      status.code() == StatusCode::kIOError ? Status::Unavailable(status.message()) : status,
      /*compacted_revision=*/0);
  if (error.code() == coord::v1::UNAVAILABLE) error.set_leader_hint(leader_hint);
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
