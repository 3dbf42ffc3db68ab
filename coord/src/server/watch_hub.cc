#include "server/watch_hub.h"

#include <algorithm>
#include <utility>

namespace coord::server {
namespace {

coord::v1::ServerMessage MakeWatchMessage(int64_t watch_id, int64_t revision) {
  coord::v1::ServerMessage m;
  m.mutable_watch()->set_watch_id(watch_id);
  m.mutable_watch()->set_revision(revision);
  return m;
}

}  // namespace

void WatchHub::Create(const std::shared_ptr<ClientSink>& sink, uint64_t request_id,
                      const coord::v1::WatchCreateRequest& request, bool text,
                      const StateMachine& sm, const coord::v1::ResponseHeader& header,
                      std::string_view user) {
  coord::v1::ServerMessage reply;
  coord::v1::Response* response = reply.mutable_response();
  auto fail = [&](coord::v1::ErrorCode code, const std::string& message) {
    response->Clear();
    response->set_id(request_id);
    response->mutable_error()->set_code(code);
    response->mutable_error()->set_message(message);
    response->mutable_error()->set_compacted_revision(sm.compacted_revision());
    sink->Push(reply, text);
  };

  *response = sm.ListForWatch(request);
  response->set_id(request_id);
  if (response->has_error() && response->error().code() != coord::v1::OK) {
    sink->Push(reply, text);
    return;
  }
  if (sm.auth_enabled()) {
    // The list shows only what the user may read, like the events.
    auto* kvs = response->mutable_watch_create()->mutable_kvs();
    kvs->erase(std::remove_if(kvs->begin(), kvs->end(),
                              [&](const coord::v1::KeyValue& kv) {
                                return !sm.MayReadKey(user, kv.key());
                              }),
               kvs->end());
  }
  auto range = MakeKeyRange(request.key(), request.range_end(), request.prefix());
  if (!range.ok()) {
    fail(coord::v1::INVALID_ARGUMENT, range.status().message());
    return;
  }
  const int64_t head = sm.revision();
  int64_t start = head + 1;
  std::vector<StateEvent> catch_up;
  if (!request.list() && request.start_revision() > 0 && request.start_revision() <= head) {
    auto batch = sm.EventsSince(request.start_revision(), request.key(), request.range_end(),
                                request.prefix(), options_.max_catch_up_events + 1);
    if (!batch.ok()) {
      const coord::v1::Error e = ErrorFromStatus(batch.status(), sm.compacted_revision());
      fail(e.code(), e.message());
      return;
    }
    if (batch->next_revision <= head || batch->events.size() > options_.max_catch_up_events) {
      fail(coord::v1::TOO_LARGE,
           "catch-up from revision " + std::to_string(request.start_revision()) + " exceeds " +
               std::to_string(options_.max_catch_up_events) + " events; start later or use list");
      return;
    }
    catch_up = std::move(batch->events);
    std::erase_if(catch_up,
                  [&](const StateEvent& e) { return !sm.MayReadKey(user, e.event.kv().key()); });
  } else if (!request.list() && request.start_revision() > head) {
    start = request.start_revision();
  }

  std::lock_guard lock(mu_);
  size_t& count = per_connection_[sink->connection_id()];
  if (count >= options_.max_watches_per_connection) {
    fail(coord::v1::RESOURCE_EXHAUSTED,
         "too many watches on this connection (limit " +
             std::to_string(options_.max_watches_per_connection) +
             ", --max-watches-per-connection); cancel one or use another connection");
    return;
  }
  ++count;
  Watch w;
  w.id = next_id_++;
  w.connection_id = sink->connection_id();
  w.sink = sink;
  w.range = std::move(*range);
  w.prev_kv = request.prev_kv();
  w.progress_notify = request.progress_notify();
  w.text = text;
  w.user = std::string(user);
  w.next_revision =
      request.start_revision() > 0 && !request.list() ? request.start_revision() : start;
  response->mutable_watch_create()->set_watch_id(w.id);
  *response->mutable_header() = header;
  response->mutable_header()->set_revision(head);
  sink->Push(reply, text);
  auto [it, inserted] = watches_.emplace(w.id, std::move(w));
  (void)inserted;

  // Catch-up: one WatchEvent per revision, in order.
  size_t i = 0;
  while (i < catch_up.size()) {
    const int64_t rev = catch_up[i].revision;
    std::vector<const coord::v1::Event*> events;
    for (; i < catch_up.size() && catch_up[i].revision == rev; ++i) {
      events.push_back(&catch_up[i].event);
    }
    if (!DeliverLocked(it->second, events, rev)) return;
  }
  it->second.next_revision = std::max(it->second.next_revision, head + 1);
}

bool WatchHub::DeliverLocked(Watch& watch, const std::vector<const coord::v1::Event*>& events,
                             int64_t revision) {
  if (revision < watch.next_revision) return true;
  auto sink = watch.sink.lock();
  if (!sink) {
    CancelLocked(watches_.find(watch.id), coord::v1::Error());
    return false;
  }
  coord::v1::ServerMessage m = MakeWatchMessage(watch.id, revision);
  for (const coord::v1::Event* e : events) {
    coord::v1::Event* out = m.mutable_watch()->add_events();
    *out = *e;
    if (!watch.prev_kv) out->clear_prev_kv();
  }
  watch.next_revision = revision + 1;
  if (!sink->PushEvent(watch.id, m, watch.text)) {
    coord::v1::Error reason;
    reason.set_code(coord::v1::UNAVAILABLE);
    reason.set_message("slow consumer: watch " + std::to_string(watch.id) +
                       " fell behind at revision " + std::to_string(revision) +
                       "; resume from revision " + std::to_string(revision));
    CancelLocked(watches_.find(watch.id), reason);
    return false;
  }
  return true;
}

void WatchHub::CancelLocked(std::map<int64_t, Watch>::iterator it, const coord::v1::Error& reason) {
  if (it == watches_.end()) return;
  Watch& w = it->second;
  if (reason.code() != coord::v1::OK) {
    if (auto sink = w.sink.lock()) {
      coord::v1::ServerMessage m = MakeWatchMessage(w.id, w.next_revision - 1);
      m.mutable_watch()->set_canceled(true);
      *m.mutable_watch()->mutable_cancel_reason() = reason;
      sink->Push(m, w.text);
    }
  }
  auto c = per_connection_.find(w.connection_id);
  if (c != per_connection_.end() && --c->second == 0) per_connection_.erase(c);
  watches_.erase(it);
}

bool WatchHub::Cancel(uint64_t connection_id, int64_t watch_id) {
  std::lock_guard lock(mu_);
  auto it = watches_.find(watch_id);
  if (it == watches_.end() || it->second.connection_id != connection_id) return false;
  CancelLocked(it, coord::v1::Error());
  return true;
}

void WatchHub::RemoveConnection(uint64_t connection_id) {
  std::lock_guard lock(mu_);
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (it->second.connection_id == connection_id) {
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
  per_connection_.erase(connection_id);
}

void WatchHub::Dispatch(const std::vector<StateEvent>& events, const StateMachine* sm) {
  if (events.empty()) return;
  std::lock_guard lock(mu_);
  const int64_t revision = events.front().revision;
  std::vector<int64_t> ids;
  ids.reserve(watches_.size());
  for (const auto& [id, w] : watches_) ids.push_back(id);
  for (int64_t id : ids) {
    auto it = watches_.find(id);
    if (it == watches_.end()) continue;
    std::vector<const coord::v1::Event*> matching;
    for (const StateEvent& e : events) {
      const std::string& key = e.event.kv().key();
      if (!it->second.range.Contains(key)) continue;
      if (sm != nullptr && !sm->MayReadKey(it->second.user, key)) continue;
      matching.push_back(&e.event);
    }
    if (matching.empty()) {
      // Nothing for this watch, but it has seen this revision.
      if (revision >= it->second.next_revision) it->second.next_revision = revision + 1;
      continue;
    }
    DeliverLocked(it->second, matching, revision);
  }
}

void WatchHub::NotifyProgress(int64_t revision) {
  std::lock_guard lock(mu_);
  for (auto& [id, w] : watches_) {
    if (!w.progress_notify) continue;
    // Events past `revision` already went out: a progress at `revision` would
    // tell the client it is behind what it has seen.
    if (revision < w.next_revision - 1) continue;
    if (auto sink = w.sink.lock()) sink->Push(MakeWatchMessage(id, revision), w.text);
  }
}

void WatchHub::CancelAll(const coord::v1::Error& reason) {
  std::lock_guard lock(mu_);
  while (!watches_.empty()) CancelLocked(watches_.begin(), reason);
}

size_t WatchHub::size() const {
  std::lock_guard lock(mu_);
  return watches_.size();
}

}  // namespace coord::server
