// Helpers of the lock and election integration tests.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "test_util.h"

namespace coord::test {

// `base` plus a suffix unique in this process, so a test can run repeatedly
// (--gtest_repeat) against the same ensemble without meeting its earlier state.
std::string Fresh(const std::string& base);
// Creates a session (ttl_ms) and returns its id, or 0 (with a test failure).
int64_t NewSession(WsClient& c, int64_t ttl_ms = 10'000, bool json = false);
Response Acquire(WsClient& c, const std::string& name, int64_t session, bool wait,
                 int64_t wait_timeout_ms = 0, bool json = false);
Response Release(WsClient& c, const std::string& name, int64_t session);
Response Inspect(WsClient& c, const std::string& name);
// Waits for the next pushed message that `match` accepts (others are skipped);
// nullopt at the deadline or when the connection ends.
std::optional<coord::v1::ServerMessage> WaitPushed(
    WsClient& c, const std::function<bool(const coord::v1::ServerMessage&)>& match,
    std::chrono::milliseconds timeout);
// Waits for the pushed LockEvent of `acquire_index` (other pushes are skipped).
std::optional<coord::v1::LockEvent> WaitLockEvent(WsClient& c, uint64_t acquire_index,
                                                  std::chrono::milliseconds timeout);
// Acquires with wait and, when queued, waits for the grant; returns the token or
// 0 (with a test failure).
int64_t AcquireBlocking(WsClient& c, const std::string& name, int64_t session,
                        std::chrono::milliseconds timeout);
// A txn guarded by the lock's token (conflict_on_failure) putting key=value.
Response GuardedPut(WsClient& c, const std::string& lock, int64_t token, const std::string& key,
                    const std::string& value);

}  // namespace coord::test
