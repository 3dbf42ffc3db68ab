// The ensemble of coord_client_tests (one per test binary, started by env.cc) and
// helpers shared by the client tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cluster.h"
#include "coord/client/client.h"

namespace coord::test {

using namespace std::chrono_literals;

extern Ensemble* g_client_ensemble;

// "a:p,b:p,c:p" of the initial members.
std::string Endpoints();
// A client on every member (or `endpoints`); fails the test on bad options.
std::unique_ptr<Client> NewClient(const std::string& endpoints = "");
// `base` + a suffix unique in this process.
std::string Fresh(const std::string& base);
// Waits until `pred` holds or the timeout passes; returns pred().
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
// Restarts member i if it is down and waits for a stable leader.
void EnsureRunning(int i);

}  // namespace coord::test
