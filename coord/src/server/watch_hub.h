// WatchHub: the live watches of one member and the delivery of applied events.
//
// Gap-free delivery: Create() and Dispatch() must be called with the state
// machine lock held (Create shared, Dispatch from Apply with it exclusive), so a
// new watch's catch-up (list or EventsSince up to revision R) and the live
// events (R+1 onwards) meet exactly: no event is lost or repeated.
//
// Slow consumers: an event that the connection refuses (too many queued for that
// watch) cancels the watch: the client gets WatchEvent{canceled, cancel_reason
// UNAVAILABLE "slow consumer..."} and may resume from its last revision + 1.
//
// Access control: a watch belongs to the user of the connection that created it;
// while auth is enabled it delivers (in its list, catch-up and live events) only
// keys that user may read now (StateMachine::MayReadKey), so a revoked grant
// stops the events at once. A revision with nothing readable for it is skipped
// like one with no matching key.
//
// Thread-safety: all methods are thread-safe (one internal mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/server/state_machine.h"
#include "server/client_sink.h"
#include "state/key_range.h"

namespace coord::server {

struct WatchHubOptions {
  size_t max_watches_per_connection = 256;
  // Bounds a new watch's catch-up: more matching history than this cancels it.
  size_t max_catch_up_events = 10'000;
};

class WatchHub {
 public:
  explicit WatchHub(WatchHubOptions options) : options_(options) {}

  // Validates and registers a watch for `sink`, queues the watch_create reply
  // (request id `request_id`) and then the catch-up events on the sink.
  // Call with the state machine lock held (shared is enough). `user`: the
  // connection's authenticated user (empty: none).
  void Create(const std::shared_ptr<ClientSink>& sink, uint64_t request_id,
              const coord::v1::WatchCreateRequest& request, bool text, const StateMachine& sm,
              const coord::v1::ResponseHeader& header, std::string_view user = {});

  // Cancels a watch of the connection; false if it has no such watch.
  bool Cancel(uint64_t connection_id, int64_t watch_id);

  // Drops all watches of a closed connection.
  void RemoveConnection(uint64_t connection_id);

  // Delivers the events of one applied command (all of one revision). Call from
  // Apply with the state machine lock held; `sm` (the state after the apply)
  // decides who may read what (null: no access control, for tests).
  void Dispatch(const std::vector<StateEvent>& events, const StateMachine* sm = nullptr);

  // Sends a progress notification (no events, `revision`) to every watch that
  // asked for them.
  void NotifyProgress(int64_t revision);

  // Cancels every watch with `reason` (e.g. the state was replaced by a snapshot).
  void CancelAll(const coord::v1::Error& reason);

  size_t size() const;

 private:
  struct Watch {
    int64_t id = 0;
    uint64_t connection_id = 0;
    std::weak_ptr<ClientSink> sink;
    KeyRange range;
    bool prev_kv = false;
    bool progress_notify = false;
    bool text = false;
    int64_t next_revision = 0;  // first revision not delivered yet
    std::string user;           // who created it (access control)
  };

  // Queues events (all > the watch's position) for a watch; on refusal cancels
  // it. Returns false if the watch was cancelled. Caller holds mu_.
  bool DeliverLocked(Watch& watch, const std::vector<const coord::v1::Event*>& events,
                     int64_t revision);
  void CancelLocked(std::map<int64_t, Watch>::iterator it, const coord::v1::Error& reason);

  WatchHubOptions options_;
  mutable std::mutex mu_;
  int64_t next_id_ = 1;
  std::map<int64_t, Watch> watches_;  // by id
  std::map<uint64_t, size_t> per_connection_;
};

}  // namespace coord::server
