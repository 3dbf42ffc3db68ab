// Output of coordctl: text for people, JSON lines for scripts.
//
// JSON mode prints exactly one JSON object per line. Protobuf messages use
// protobuf's canonical JSON mapping with every scalar field present (zeros and
// false included), so a script can rely on a field being there: names in
// lowerCamelCase, 64-bit integers as strings, bytes as base64, enums by name. Fields
// coordctl adds itself follow the same conventions (64-bit integers as strings).
// docs/cli.md lists the object of every command.
//
// Thread-safety: JsonObject and the free functions are values / pure. Printer is
// safe to use from several threads (each Emit writes one whole line).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include "args.h"
#include "coord.pb.h"

namespace coord::ctl {

// `text` as a quoted JSON string. Control characters, '"' and '\' are escaped;
// other bytes pass through (keys and names are UTF-8 by the protocol).
std::string JsonQuote(std::string_view text);

// The canonical JSON of `message` on one line, with every scalar field present.
std::string MessageJson(const google::protobuf::Message& message);

// Builds one JSON object field by field, in insertion order.
class JsonObject {
 public:
  JsonObject() = default;
  // Starts with the fields of `message` (MessageJson).
  static JsonObject FromMessage(const google::protobuf::Message& message);

  JsonObject& Str(std::string_view key, std::string_view value);
  // A 64-bit integer, written as a JSON string like protobuf's mapping does.
  JsonObject& Int(std::string_view key, int64_t value);
  JsonObject& Uint(std::string_view key, uint64_t value);
  JsonObject& Bool(std::string_view key, bool value);
  JsonObject& Message(std::string_view key, const google::protobuf::Message& message);
  // `json` must be a valid JSON value.
  JsonObject& Raw(std::string_view key, std::string_view json);

  std::string ToString() const { return "{" + fields_ + "}"; }

 private:
  void Key(std::string_view key);
  std::string fields_;  // "\"a\":1,\"b\":2" without the braces
};

// The JSON object printed for most request/response commands: the response body's
// fields, plus "header" (revision, raftTerm, memberId, compactedRevision) first.
std::string ResponseJson(const google::protobuf::Message& body,
                         const coord::v1::ResponseHeader& header);

// Writes whole lines to a stream (stdout), flushing each so that a script reading
// a pipe sees every event as soon as it happens.
class Printer {
 public:
  Printer(OutputFormat format, std::ostream& out) : format_(format), out_(out) {}
  OutputFormat format() const { return format_; }
  bool json() const { return format_ == OutputFormat::kJson; }
  // Writes `line` + '\n' (the line itself must not end with a newline; text
  // output of values may contain newlines, which is accepted as is).
  void Emit(std::string_view line);
  // Emits `json_line` in JSON mode, `text` in text mode (nothing if text is empty).
  void Emit(std::string_view text, std::string_view json_line);

 private:
  const OutputFormat format_;
  std::ostream& out_;
  std::mutex mu_;
};

}  // namespace coord::ctl
