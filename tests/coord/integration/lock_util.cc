#include "lock_util.h"

#include <atomic>

namespace coord::test {

std::string Fresh(const std::string& base) {
  static std::atomic<int> next{1};
  return base + "#" + std::to_string(next.fetch_add(1));
}

int64_t NewSession(WsClient& c, int64_t ttl_ms, bool json) {
  Request r;
  r.mutable_session_create()->set_ttl_ms(ttl_ms);
  auto resp = c.Call(r, json);
  EXPECT_TRUE(resp.ok()) << resp.status();
  if (!resp.ok()) return 0;
  EXPECT_TRUE(Ok(*resp)) << resp->DebugString();
  return resp->session_create().session_id();
}

Response Acquire(WsClient& c, const std::string& name, int64_t session, bool wait,
                 int64_t wait_timeout_ms, bool json) {
  Request r;
  r.mutable_lock_acquire()->set_name(name);
  r.mutable_lock_acquire()->set_session(session);
  r.mutable_lock_acquire()->set_wait(wait);
  r.mutable_lock_acquire()->set_wait_timeout_ms(wait_timeout_ms);
  auto resp = c.Call(r, json);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response Release(WsClient& c, const std::string& name, int64_t session) {
  Request r;
  r.mutable_lock_release()->set_name(name);
  r.mutable_lock_release()->set_session(session);
  auto resp = c.Call(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response Inspect(WsClient& c, const std::string& name) {
  Request r;
  r.mutable_lock_inspect()->set_name(name);
  auto resp = c.Call(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

std::optional<coord::v1::ServerMessage> WaitPushed(
    WsClient& c, const std::function<bool(const coord::v1::ServerMessage&)>& match,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = c.NextPushed(left);
    if (!m.ok()) return std::nullopt;
    if (match(*m)) return *m;
  }
}

std::optional<coord::v1::LockEvent> WaitLockEvent(WsClient& c, uint64_t acquire_index,
                                                  std::chrono::milliseconds timeout) {
  auto m = WaitPushed(
      c,
      [&](const coord::v1::ServerMessage& m) {
        return m.has_lock() && m.lock().acquire_index() == acquire_index;
      },
      timeout);
  if (!m) return std::nullopt;
  return m->lock();
}

int64_t AcquireBlocking(WsClient& c, const std::string& name, int64_t session,
                        std::chrono::milliseconds timeout) {
  Response r = Acquire(c, name, session, true);
  EXPECT_TRUE(Ok(r)) << r.DebugString();
  if (!Ok(r)) return 0;
  if (r.lock_acquire().granted()) return r.lock_acquire().token();
  auto e = WaitLockEvent(c, r.lock_acquire().acquire_index(), timeout);
  EXPECT_TRUE(e.has_value()) << "no LockEvent for acquire " << r.lock_acquire().acquire_index();
  if (!e) return 0;
  EXPECT_TRUE(e->granted()) << e->DebugString();
  return e->granted() ? e->token() : 0;
}

Response GuardedPut(WsClient& c, const std::string& lock, int64_t token, const std::string& key,
                    const std::string& value) {
  Request r;
  auto* cmp = r.mutable_txn()->add_compare();
  cmp->set_key(lock);
  cmp->set_target(coord::v1::Compare::LOCK_TOKEN);
  cmp->set_op(coord::v1::Compare::EQUAL);
  cmp->set_number(token);
  auto* put = r.mutable_txn()->add_success()->mutable_put();
  put->set_key(key);
  put->set_value(value);
  r.mutable_txn()->set_conflict_on_failure(true);
  auto resp = c.Call(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

}  // namespace coord::test
