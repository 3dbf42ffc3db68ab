// Outcome: how the server finished one request, before it reaches a connection.
#pragma once

#include <functional>

#include "coord.pb.h"

namespace coord::server {

struct Outcome {
  coord::v1::Response response;
  bool retryable = false;  // certainly not applied: safe to send again
};

// Completes a request; called exactly once, on any thread.
using Done = std::function<void(Outcome)>;

}  // namespace coord::server
