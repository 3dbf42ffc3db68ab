// Shared helpers of the coordctl end-to-end tests: one real 3-member ensemble per
// test binary (started on first use, stopped at exit), and coordctl runs against it.
#pragma once

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster.h"
#include "ctl_process.h"

namespace coord::test {

// The ensemble; started (and a leader awaited) on first use.
Ensemble& SharedEnsemble();
// "--endpoints" value naming every member of the shared ensemble.
std::string Endpoints();
// coordctl --endpoints <all members> ARGS..., run to completion.
CtlResult Ctl(std::vector<std::string> args);
// The same, started in the background (watch, lock, elect).
std::unique_ptr<CtlProcess> StartCtl(std::vector<std::string> args);
// A name unique within this test binary run: prefix + a counter.
std::string Fresh(const std::string& prefix);

// Parses one JSON line into `message` (unknown fields ignored, so e.g. the body of
// a `get -o json` line parses into RangeResponse and its header into Response).
template <typename M>
M FromJson(const std::string& line);
// Parses one JSON line into a generic Struct (for coordctl's own objects).
google::protobuf::Struct JsonStruct(const std::string& line);
// A string field of a Struct ("" when absent).
std::string StructString(const google::protobuf::Struct& s, const std::string& field);

// Asserts the shape of a failed run: `code`, nothing on stdout, exactly one line
// on stderr starting with "coordctl: " and containing `needle`.
void ExpectFailure(const CtlResult& r, int code, const std::string& needle);

}  // namespace coord::test

#include "cli_env_inl.h"
