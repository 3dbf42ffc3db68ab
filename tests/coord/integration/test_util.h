// Shared helpers of the integration tests: the ensemble (started once for the
// whole binary by the environment in env.cc) and small request helpers.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cluster.h"
#include "ws_client.h"

namespace coord::test {

using namespace std::chrono_literals;
using coord::v1::Request;
using coord::v1::Response;

// The running ensemble (3 members); valid during every test.
extern Ensemble* g_ensemble;

// Throws (failing the test) if the member does not accept the connection.
std::unique_ptr<WsClient> Connect(int member);
// Index of the leader every running member agrees on (waits up to 20 s).
int Leader();
int AFollower();
Response Put(WsClient& c, const std::string& key, const std::string& value, bool json = false,
             int64_t session = 0);
Response Get(WsClient& c, const std::string& key, bool serializable = false, bool prefix = false,
             bool json = false);
bool Ok(const Response& r);
std::string HttpGet(const std::string& address, const std::string& target, int* status);
// The value of an unlabelled metric of member i of `e` (-1 if absent).
double Metric(const Ensemble& e, int i, const std::string& name);
// Resident memory of a process.
uint64_t ResidentBytes(pid_t pid);
// The whole content of a file ("" if it cannot be read), e.g. a member's log.
std::string ReadFile(const std::string& path);

// Polls `pred` every 50 ms until it holds or `timeout` passes.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval
  }
  return true;
}

}  // namespace coord::test
