#include "workload.h"

#include <cstdio>

namespace coord::bench {

std::string MakeValue(int size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string v(static_cast<size_t>(size), 'x');
  for (char& c : v) c = static_cast<char>('a' + rng() % 26);
  return v;
}

std::string IndexedKey(const std::string& prefix, int64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(i));
  return prefix + "/" + buf;
}

bool WriteWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  coord::v1::PutRequest* put = request->mutable_put();
  put->set_key(prefix_ + "/" + std::to_string(client.index) + "/" + std::to_string(client.issued));
  put->set_value(value_);
  return true;
}

bool ReadWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  coord::v1::RangeRequest* range = request->mutable_range();
  range->set_key(IndexedKey(prefix_, static_cast<int64_t>(client.rng() % keys_)));
  range->set_serializable(serializable_);
  return true;
}

bool FillWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  int64_t index = -1;
  {
    std::lock_guard lock(mu_);
    if (!retry_.empty()) {
      index = retry_.front();
      retry_.pop_front();
    }
  }
  if (index < 0) {
    index = next_.fetch_add(1);
    if (index >= count_) return false;
  }
  client.pending = index;
  if (session_ttl_ms_ > 0) {
    request->mutable_session_create()->set_ttl_ms(session_ttl_ms_);
    return true;
  }
  coord::v1::PutRequest* put = request->mutable_put();
  put->set_key(IndexedKey(prefix_, index));
  put->set_value(value_);
  return true;
}

void FillWorkload::Done(ClientContext& client, bool ok) {
  if (client.pending < 0) return;
  if (ok) {
    succeeded_.fetch_add(1);
  } else {
    // Re-queued before this client's next Next(), so someone always picks it up.
    std::lock_guard lock(mu_);
    retry_.push_back(client.pending);
  }
  client.pending = -1;
}


bool LockWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  client.untimed = true;
  if (client.session == 0) {
    client.phase = kCreating;
    request->mutable_session_create()->set_ttl_ms(ttl_ms_);
  } else if (client.phase == kReleasing) {
    // The second half of a cycle (granted): part of the timed operation.
    coord::v1::LockReleaseRequest* release = request->mutable_lock_release();
    release->set_name(name_);
    release->set_session(client.session);
  } else if (client.phase == kCleanup) {
    client.phase = kCleaning;
    coord::v1::LockReleaseRequest* release = request->mutable_lock_release();
    release->set_name(name_);
    release->set_session(client.session);
  } else if (client.now_ns >= client.keepalive_due_ns) {
    client.phase = kKeepingAlive;
    request->mutable_session_keepalive()->set_session_id(client.session);
  } else {
    client.untimed = false;
    client.phase = kAcquiring;
    client.acquire_index = 0;
    coord::v1::LockAcquireRequest* acquire = request->mutable_lock_acquire();
    acquire->set_name(name_);
    acquire->set_session(client.session);
    acquire->set_wait(true);
    acquire->set_wait_timeout_ms(wait_timeout_ms_);
  }
  return true;
}

void LockWorkload::Done(ClientContext& client, bool ok) {
  if (ok || client.session == 0) {
    client.phase = kIdle;
    return;
  }
  // A failed acquire or release may have left us holding or queued (a grant can be
  // applied after the connection broke): release before the next acquire.
  const bool in_cycle = client.phase == kAcquiring || client.phase == kReleasing ||
                        client.phase == kCleanup || client.phase == kCleaning;
  client.phase = in_cycle ? kCleanup : kIdle;
}

Step LockWorkload::OnReply(ClientContext& client, const coord::v1::Response& response) {
  const coord::v1::ErrorCode code = response.error().code();
  if (code == coord::v1::SESSION_EXPIRED ||
      (client.phase == kKeepingAlive && code == coord::v1::NOT_FOUND)) {
    client.session = 0;  // the session ended: its locks and waits went with it
    return Step::kFailed;
  }
  if (client.phase == kCleaning && code == coord::v1::NOT_FOUND) {
    return Step::kOk;  // neither holding nor queued: nothing to clean up
  }
  if (code != coord::v1::OK) return Step::kFailed;
  // Keepalives every ttl/3: two may be lost before the session expires.
  const int64_t keepalive_ns = ttl_ms_ * 1'000'000 / 3;
  switch (client.phase) {
    case kCreating: {
      client.session = response.session_create().session_id();
      const int64_t ttl = response.session_create().ttl_ms();
      client.keepalive_due_ns =
          client.now_ns + (ttl > 0 ? ttl * 1'000'000 / 3 : keepalive_ns);
      return client.session != 0 ? Step::kOk : Step::kFailed;
    }
    case kKeepingAlive: {
      const int64_t ttl = response.session_keepalive().ttl_ms();
      client.keepalive_due_ns =
          client.now_ns + (ttl > 0 ? ttl * 1'000'000 / 3 : keepalive_ns);
      return Step::kOk;
    }
    case kAcquiring:
      if (response.lock_acquire().granted()) {
        client.phase = kReleasing;
        return Step::kNext;
      }
      // Queued: the grant comes as a pushed LockEvent carrying this index.
      client.acquire_index = response.lock_acquire().acquire_index();
      return Step::kWait;
    case kReleasing:
      // Not the holder: the grant we saw was lost (revoked); the cycle failed.
      return response.lock_release().was_holder() ? Step::kOk : Step::kFailed;
    default:
      return Step::kOk;  // kCleaning
  }
}

Step LockWorkload::OnPush(ClientContext& client, const coord::v1::ServerMessage& message) {
  if (client.phase != kAcquiring || !message.has_lock()) return Step::kIgnore;
  const coord::v1::LockEvent& event = message.lock();
  if (event.name() != name_ || event.session() != client.session ||
      event.acquire_index() != client.acquire_index) {
    return Step::kIgnore;
  }
  if (event.granted()) {
    client.phase = kReleasing;
    return Step::kNext;
  }
  if (event.error().code() == coord::v1::SESSION_EXPIRED) client.session = 0;
  return Step::kFailed;
}

}  // namespace coord::bench
