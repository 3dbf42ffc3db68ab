// Running the real coordctl binary (COORDCTL_PATH) from tests: ChildProcess.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "test_process.h"

namespace coord::test {

using CtlResult = ChildResult;
using CtlProcess = ChildProcess;

inline std::unique_ptr<ChildProcess> StartCoordctl(const std::vector<std::string>& args) {
  return ChildProcess::Start(COORDCTL_PATH, args);
}

inline CtlResult RunCtl(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = 30s) {
  return RunChild(COORDCTL_PATH, args, timeout);
}

}  // namespace coord::test
