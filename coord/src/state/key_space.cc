#include "state/key_space.h"

#include <algorithm>
#include <set>
#include <utility>

#include "state/check.h"

namespace coord::server {

coord::v1::KeyValue ToKeyValue(const std::string& key, const KeyVersion& version) {
  coord::v1::KeyValue kv;
  kv.set_key(key);
  kv.set_value(version.value);
  kv.set_create_revision(version.create_revision);
  kv.set_mod_revision(version.revision);
  kv.set_version(version.version);
  kv.set_session(version.session);
  return kv;
}

namespace {

// First version with revision > `revision`.
KeyHistory::const_iterator UpperBound(const KeyHistory& history, int64_t revision) {
  return std::upper_bound(history.begin(), history.end(), revision,
                          [](int64_t r, const KeyVersion& v) { return r < v.revision; });
}

}  // namespace

const KeyVersion* KeySpace::VisibleAt(const KeyHistory& history, int64_t at_revision) {
  if (history.empty()) return nullptr;
  const KeyVersion* v = nullptr;
  if (at_revision == 0) {
    v = &history.back();
  } else {
    auto it = UpperBound(history, at_revision);
    if (it == history.begin()) return nullptr;
    v = &*std::prev(it);
  }
  return v->deleted ? nullptr : v;
}

const KeyVersion* KeySpace::Get(std::string_view key, int64_t at_revision) const {
  auto it = histories_.find(key);
  if (it == histories_.end()) return nullptr;
  return VisibleAt(it->second, at_revision);
}

void KeySpace::BeginWrite(int64_t revision) {
  // All writes of one command share one revision; the first one opens it.
  COORD_STATE_CHECK(revision == revision_ || revision == revision_ + 1);
  COORD_STATE_CHECK(revision > compacted_);
  revision_ = revision;
}

std::optional<KeyVersion> KeySpace::Put(const std::string& key, std::string value, int64_t session,
                                        int64_t revision) {
  BeginWrite(revision);
  KeyHistory& history = histories_[key];
  COORD_STATE_CHECK(history.empty() || history.back().revision < revision);
  std::optional<KeyVersion> prev;
  KeyVersion next;
  next.revision = revision;
  next.session = session;
  next.value = std::move(value);
  if (!history.empty() && !history.back().deleted) {
    prev = history.back();
    next.create_revision = prev->create_revision;
    next.version = prev->version + 1;
  } else {
    next.create_revision = revision;
    next.version = 1;
    ++live_keys_;
  }
  history.push_back(std::move(next));
  events_.push_back(EventRef{revision, key});
  return prev;
}

std::optional<KeyVersion> KeySpace::Delete(const std::string& key, int64_t revision) {
  auto it = histories_.find(key);
  if (it == histories_.end() || it->second.back().deleted) return std::nullopt;
  BeginWrite(revision);
  KeyHistory& history = it->second;
  COORD_STATE_CHECK(history.back().revision < revision);
  std::optional<KeyVersion> prev = history.back();
  KeyVersion tombstone;
  tombstone.revision = revision;
  tombstone.deleted = true;
  history.push_back(std::move(tombstone));
  --live_keys_;
  events_.push_back(EventRef{revision, key});
  return prev;
}

coord::v1::Event KeySpace::MakeEvent(const std::string& key, int64_t revision) const {
  auto it = histories_.find(key);
  COORD_STATE_CHECK(it != histories_.end());
  const KeyHistory& history = it->second;
  auto pos = UpperBound(history, revision);
  COORD_STATE_CHECK(pos != history.begin() && std::prev(pos)->revision == revision);
  auto at = std::prev(pos);
  coord::v1::Event event;
  if (at->deleted) {
    event.set_type(coord::v1::Event::DELETE);
    event.mutable_kv()->set_key(key);
    event.mutable_kv()->set_mod_revision(revision);
  } else {
    event.set_type(coord::v1::Event::PUT);
    *event.mutable_kv() = ToKeyValue(key, *at);
  }
  // The previous version is always in the window: compaction keeps a live base.
  if (at != history.begin() && !std::prev(at)->deleted) {
    *event.mutable_prev_kv() = ToKeyValue(key, *std::prev(at));
  }
  return event;
}

size_t KeySpace::FirstEventAt(int64_t revision) const {
  auto it = std::lower_bound(events_.begin(), events_.end(), revision,
                             [](const EventRef& e, int64_t r) { return e.revision < r; });
  return static_cast<size_t>(it - events_.begin());
}

void KeySpace::TrimKey(const std::string& key, int64_t compacted) {
  auto it = histories_.find(key);
  if (it == histories_.end()) return;  // already removed by an earlier event of the walk
  KeyHistory& history = it->second;
  auto upper = UpperBound(history, compacted);
  if (upper == history.begin()) return;
  // Keep the last version at or below `compacted` (the base) unless it is a
  // tombstone: a deleted key needs no base.
  auto base = std::prev(upper);
  auto erase_end = base->deleted ? upper : base;
  history.erase(history.begin(), erase_end);
  if (history.empty()) histories_.erase(it);
}

void KeySpace::Compact(int64_t revision) {
  COORD_STATE_CHECK(revision > compacted_ && revision <= revision_);
  // Every version at or below `revision` that is not a key's newest such version
  // was written inside (compacted_, revision], so it has an event in that span.
  while (!events_.empty() && events_.front().revision <= revision) {
    TrimKey(events_.front().key, revision);
    events_.pop_front();
  }
  compacted_ = revision;
}

uint64_t KeySpace::SequenceCounter(std::string_view prefix) const {
  auto it = sequence_counters_.find(prefix);
  return it == sequence_counters_.end() ? 0 : it->second;
}

void KeySpace::SetSequenceCounter(const std::string& prefix, uint64_t last) {
  sequence_counters_[prefix] = last;
}

void KeySpace::ToSnapshot(coord::state::StateSnapshot* out) const {
  out->set_revision(revision_);
  out->set_compacted_revision(compacted_);
  for (const auto& [key, history] : histories_) {
    coord::state::KeyRecord* record = out->add_keys();
    record->set_key(key);
    for (const KeyVersion& v : history) {
      coord::state::KeyVersionRecord* r = record->add_versions();
      r->set_revision(v.revision);
      r->set_deleted(v.deleted);
      if (v.deleted) continue;
      r->set_value(v.value);
      r->set_create_revision(v.create_revision);
      r->set_version(v.version);
      r->set_session(v.session);
    }
  }
  for (const EventRef& e : events_) {
    coord::state::EventRecord* r = out->add_events();
    r->set_revision(e.revision);
    r->set_key(e.key);
  }
  for (const auto& [prefix, last] : sequence_counters_) {
    coord::state::SequenceCounter* c = out->add_counters();
    c->set_prefix(prefix);
    c->set_last(last);
  }
}

Result<KeySpace> KeySpace::FromSnapshot(const coord::state::StateSnapshot& snapshot) {
  auto corrupt = [](const std::string& what) {
    return Status::Corruption("state snapshot: " + what);
  };
  KeySpace space;
  space.revision_ = snapshot.revision();
  space.compacted_ = snapshot.compacted_revision();
  if (space.revision_ < 0 || space.compacted_ < 0 || space.compacted_ > space.revision_) {
    return corrupt("bad revision/compacted_revision");
  }
  size_t versions_in_window = 0;
  const std::string* last_key = nullptr;
  for (const coord::state::KeyRecord& record : snapshot.keys()) {
    if (record.key().empty()) return corrupt("empty key");
    if (last_key != nullptr && record.key() <= *last_key) return corrupt("keys out of order");
    last_key = &record.key();
    if (record.versions().empty()) return corrupt("key without versions: " + record.key());
    KeyHistory history;
    for (const coord::state::KeyVersionRecord& r : record.versions()) {
      if (r.revision() < 1 || r.revision() > space.revision_ ||
          (!history.empty() && r.revision() <= history.back().revision)) {
        return corrupt("bad version revision of key " + record.key());
      }
      if (r.revision() <= space.compacted_ && (!history.empty() || r.deleted())) {
        return corrupt("more than a live base at or below compaction: " + record.key());
      }
      KeyVersion v;
      v.revision = r.revision();
      v.deleted = r.deleted();
      if (!v.deleted) {
        const KeyVersion* prev =
            history.empty() || history.back().deleted ? nullptr : &history.back();
        bool consistent = prev == nullptr
                              ? (r.version() >= 1 && r.create_revision() >= 1 &&
                                 r.create_revision() <= r.revision() &&
                                 (r.revision() <= space.compacted_ ||
                                  (r.create_revision() == r.revision() && r.version() == 1)))
                              : (r.version() == prev->version + 1 &&
                                 r.create_revision() == prev->create_revision);
        if (!consistent) return corrupt("inconsistent version of key " + record.key());
        v.create_revision = r.create_revision();
        v.version = r.version();
        v.session = r.session();
        v.value = r.value();
      }
      if (v.revision > space.compacted_) ++versions_in_window;
      history.push_back(std::move(v));
    }
    if (!history.back().deleted) ++space.live_keys_;
    space.histories_.emplace(record.key(), std::move(history));
  }
  // The event log must name every version in the window exactly once, in order.
  if (static_cast<size_t>(snapshot.events_size()) != versions_in_window) {
    return corrupt("event log does not match the history");
  }
  int64_t current = 0;
  std::set<std::string_view> keys_at_current;
  for (const coord::state::EventRecord& e : snapshot.events()) {
    if (e.revision() <= space.compacted_ || e.revision() < current) {
      return corrupt("event log out of order");
    }
    if (e.revision() != current) {
      current = e.revision();
      keys_at_current.clear();
    }
    auto it = space.histories_.find(e.key());
    if (it == space.histories_.end() || !keys_at_current.insert(it->first).second) {
      return corrupt("event names a missing or repeated version");
    }
    auto pos = UpperBound(it->second, e.revision());
    if (pos == it->second.begin() || std::prev(pos)->revision != e.revision()) {
      return corrupt("event names a missing version of " + e.key());
    }
    space.events_.push_back(EventRef{e.revision(), e.key()});
  }
  const std::string* last_prefix = nullptr;
  for (const coord::state::SequenceCounter& c : snapshot.counters()) {
    if (last_prefix != nullptr && c.prefix() <= *last_prefix) {
      return corrupt("sequence counters out of order");
    }
    last_prefix = &c.prefix();
    space.sequence_counters_.emplace(c.prefix(), c.last());
  }
  return space;
}

}  // namespace coord::server
