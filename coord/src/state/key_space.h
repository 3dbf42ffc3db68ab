// KeySpace: keys, their version history inside the window, and the event log.
//
// Layout: every key maps to its versions, oldest first. Invariants:
//   * versions of a key have strictly increasing revisions, all <= revision();
//   * at most one version of a key is at or below compacted_revision() (the base:
//     the key's state when the window starts), and a base is never a tombstone;
//   * a key with no versions is not in the map;
//   * the event log lists (revision, key) for every version above
//     compacted_revision(), in revision order and, within a revision, in the order
//     the command wrote them.
// Compaction walks the event log from its front, so it costs O(events compacted)
// and never touches keys that did not change inside the compacted span.
//
// Thread-safety: none (owned by StateMachine::Impl).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coord.pb.h"
#include "coord/status.h"
#include "state.pb.h"
#include "state/key_range.h"

namespace coord::server {

// One version of a key: a value written at `revision`, or a tombstone.
struct KeyVersion {
  int64_t revision = 0;  // mod_revision (or the deleting revision for a tombstone)
  bool deleted = false;
  int64_t create_revision = 0;
  int64_t version = 0;
  int64_t session = 0;
  std::string value;
};

using KeyHistory = std::vector<KeyVersion>;

struct EventRef {
  int64_t revision = 0;
  std::string key;
};

// The API form of a live version.
coord::v1::KeyValue ToKeyValue(const std::string& key, const KeyVersion& version);

class KeySpace {
 public:
  int64_t revision() const { return revision_; }
  int64_t compacted_revision() const { return compacted_; }
  size_t live_keys() const { return live_keys_; }

  // The live version of `key` at `at_revision` (0 = latest); nullptr if the key did
  // not exist then. Precondition: at_revision is 0 or inside the window.
  const KeyVersion* Get(std::string_view key, int64_t at_revision = 0) const;

  // Calls fn(const std::string& key, const KeyVersion&) for every key of `range`
  // live at `at_revision` (0 = latest), in key order, until fn returns false.
  template <typename Fn>
  void ForEach(const KeyRange& range, int64_t at_revision, Fn&& fn) const {
    for (auto it = histories_.lower_bound(range.begin); it != histories_.end(); ++it) {
      if (range.PastEnd(it->first)) break;
      const KeyVersion* v = VisibleAt(it->second, at_revision);
      if (v != nullptr && !fn(it->first, *v)) break;
    }
  }

  // Writes `key` at `revision`, which is revision() + 1 for the first write of a
  // command and revision() for the following ones. Returns the previous live
  // version. A key is written at most once per revision (checked).
  std::optional<KeyVersion> Put(const std::string& key, std::string value, int64_t session,
                                int64_t revision);
  // Deletes `key` at `revision` (same rule). Returns the deleted version, or nullopt
  // (and writes nothing) if the key is not live.
  std::optional<KeyVersion> Delete(const std::string& key, int64_t revision);

  // The event of `key` at `revision`; both must be in the event log.
  coord::v1::Event MakeEvent(const std::string& key, int64_t revision) const;

  // The event log and the position of the first event with revision >= `revision`.
  const std::deque<EventRef>& events() const { return events_; }
  size_t FirstEventAt(int64_t revision) const;

  // Discards history at and below `revision`.
  // Precondition: compacted_revision() < revision <= revision().
  void Compact(int64_t revision);

  // Sequential keys: the last number handed out for `prefix` (0 if none).
  uint64_t SequenceCounter(std::string_view prefix) const;
  void SetSequenceCounter(const std::string& prefix, uint64_t last);

  const std::map<std::string, KeyHistory, std::less<>>& histories() const { return histories_; }

  // Snapshot: writes keys, events, counters and revisions into `out`.
  void ToSnapshot(coord::state::StateSnapshot* out) const;
  // Rebuilds a key space from a snapshot, checking every invariant above.
  // Errors: CORRUPTION.
  static Result<KeySpace> FromSnapshot(const coord::state::StateSnapshot& snapshot);

 private:
  static const KeyVersion* VisibleAt(const KeyHistory& history, int64_t at_revision);
  void BeginWrite(int64_t revision);
  void TrimKey(const std::string& key, int64_t compacted);

  std::map<std::string, KeyHistory, std::less<>> histories_;
  std::deque<EventRef> events_;
  std::map<std::string, uint64_t, std::less<>> sequence_counters_;
  int64_t revision_ = 0;
  int64_t compacted_ = 0;
  size_t live_keys_ = 0;
};

}  // namespace coord::server
