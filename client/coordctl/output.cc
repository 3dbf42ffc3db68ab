#include "output.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

namespace coord::ctl {

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string out;
  // Serializing a well-formed message cannot fail (only invalid UTF-8 in a string
  // field could, which the server never sends); fall back to an empty object.
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

JsonObject JsonObject::FromMessage(const google::protobuf::Message& message) {
  JsonObject o;
  std::string json = MessageJson(message);
  // json is "{...}"; keep the inside.
  if (json.size() >= 2) o.fields_ = json.substr(1, json.size() - 2);
  return o;
}

void JsonObject::Key(std::string_view key) {
  if (!fields_.empty()) fields_ += ',';
  fields_ += JsonQuote(key);
  fields_ += ':';
}

JsonObject& JsonObject::Str(std::string_view key, std::string_view value) {
  Key(key);
  fields_ += JsonQuote(value);
  return *this;
}

JsonObject& JsonObject::Int(std::string_view key, int64_t value) {
  return Str(key, std::to_string(value));
}

JsonObject& JsonObject::Uint(std::string_view key, uint64_t value) {
  return Str(key, std::to_string(value));
}

JsonObject& JsonObject::Bool(std::string_view key, bool value) {
  return Raw(key, value ? "true" : "false");
}

JsonObject& JsonObject::Message(std::string_view key, const google::protobuf::Message& message) {
  return Raw(key, MessageJson(message));
}

JsonObject& JsonObject::Raw(std::string_view key, std::string_view json) {
  Key(key);
  fields_ += json;
  return *this;
}

std::string ResponseJson(const google::protobuf::Message& body,
                         const coord::v1::ResponseHeader& header) {
  JsonObject o;
  o.Message("header", header);
  const JsonObject b = JsonObject::FromMessage(body);
  std::string inner = b.ToString();
  inner = inner.substr(1, inner.size() - 2);
  std::string out = o.ToString();
  if (!inner.empty()) out.insert(out.size() - 1, "," + inner);
  return out;
}

void Printer::Emit(std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << '\n';
  out_.flush();
}

void Printer::Emit(std::string_view text, std::string_view json_line) {
  if (json()) {
    Emit(json_line);
  } else if (!text.empty()) {
    Emit(text);
  }
}

}  // namespace coord::ctl
