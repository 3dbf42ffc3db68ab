#include "server/codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>

#include "coord/server/state_machine.h"

namespace coord::server {

uint64_t PeekRequestId(std::string_view payload) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                                           static_cast<int>(payload.size()));
  constexpr int kIdField = coord::v1::Request::kIdFieldNumber;
  uint64_t id = 0;
  while (const uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == kIdField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&id)) return 0;
      continue;  // the last occurrence wins, as in a full parse
    }
    if (!WireFormatLite::SkipField(&in, tag)) return id;
  }
  return id;
}

namespace {

// The id of a JSON request that failed the strict parse: parsed again leniently
// (unknown fields ignored); 0 when even that fails.
uint64_t LenientJsonId(std::string_view payload) {
  coord::v1::Request request;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(payload.data(), payload.size()), &request, options);
  return status.ok() ? request.id() : 0;
}

// Parses a binary request without libprotobuf's own stderr line per bad frame
// (e.g. "String field ... contains invalid UTF-8"): hostile clients could
// flood stderr with it. The caller reports the failure, rate-limited.
bool ParseSilently(std::string_view payload, coord::v1::Request* request) {
  google::protobuf::LogSilencer silencer;
  return request->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
}

}  // namespace

Result<coord::v1::Request> DecodeRequest(std::string_view payload, bool text, uint64_t* id) {
  coord::v1::Request request;
  if (id != nullptr) *id = 0;
  if (text) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(payload.data(), payload.size()), &request, options);
    if (!status.ok()) {
      if (id != nullptr) *id = LenientJsonId(payload);
      return Status::InvalidArgument("malformed JSON request: " + status.ToString());
    }
  } else if (!ParseSilently(payload, &request)) {
    if (id != nullptr) *id = PeekRequestId(payload);
    return Status::InvalidArgument("malformed protobuf request (" + std::to_string(payload.size()) +
                                   " bytes; a string field such as a key must be UTF-8)");
  }
  if (id != nullptr) *id = request.id();
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
