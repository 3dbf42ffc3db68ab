// Template definitions of cli_env.h.
#pragma once

#include <google/protobuf/util/json_util.h>

namespace coord::test {

template <typename M>
M FromJson(const std::string& line) {
  M message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(line, &message, options);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
  return message;
}

}  // namespace coord::test
