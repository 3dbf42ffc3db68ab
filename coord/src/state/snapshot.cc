// Snapshot and restore of the whole state machine.
//
// Determinism: every table is written from an ordered container (keys, events in
// log order, sessions and dedup clients by id, counters by prefix, locks and
// elections by name with holders by session and queues in order, 2PC transactions
// by id with participants in begin order), state.proto has
// no maps, and the serializer runs in deterministic mode, so equal states give
// equal bytes.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <memory>
#include <string>
#include <utility>

#include "state/state_machine_impl.h"

namespace coord::server {

namespace {
// Format 2 adds the dedup lanes' incarnations. A snapshot is written in format 1
// unless it holds one, so a member of the previous version can still install
// images from a state it could have built itself.
// Format 3 adds retired member ids, written only when there are some.
constexpr uint32_t kFormatBase = 1;
constexpr uint32_t kFormatIncarnations = 2;
constexpr uint32_t kFormatRetiredMembers = 3;
// Format 4 adds the auth table, written only when it is not empty.
constexpr uint32_t kFormatAuth = 4;
constexpr uint32_t kFormatVersion = kFormatAuth;
}  // namespace

std::string StateMachine::Impl::Snapshot() const {
  coord::state::StateSnapshot snapshot;
  snapshot.set_last_applied_index(last_applied_);
  keys_.ToSnapshot(&snapshot);
  sessions_.ToSnapshot(&snapshot);
  dedup_.ToSnapshot(&snapshot);
  for (uint64_t id : retired_members_) snapshot.add_retired_members(id);
  auth_.ToSnapshot(&snapshot);
  snapshot.set_format_version(!auth_.empty()                ? kFormatAuth
                              : !retired_members_.empty() ? kFormatRetiredMembers
                              : dedup_.HasIncarnations() ? kFormatIncarnations
                                                         : kFormatBase);
  locks_.ToSnapshot(&snapshot);
  elections_.ToSnapshot(&snapshot);
  tpc_.ToSnapshot(&snapshot);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    snapshot.SerializeToCodedStream(&coded);
  }
  return bytes;
}

Result<std::unique_ptr<StateMachine::Impl>> StateMachine::Impl::FromSnapshot(
    std::string_view bytes, const StateMachineOptions& options) {
  coord::state::StateSnapshot snapshot;
  if (!snapshot.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("state snapshot: not a valid StateSnapshot message");
  }
  if (snapshot.format_version() < 1 || snapshot.format_version() > kFormatVersion) {
    return Status::Corruption("state snapshot: unsupported format version " +
                              std::to_string(snapshot.format_version()));
  }
  auto impl = std::make_unique<Impl>(options);
  impl->last_applied_ = snapshot.last_applied_index();

  Result<KeySpace> keys = KeySpace::FromSnapshot(snapshot);
  if (!keys.ok()) return keys.status();
  impl->keys_ = std::move(*keys);
  Result<SessionTable> sessions = SessionTable::FromSnapshot(snapshot);
  if (!sessions.ok()) return sessions.status();
  impl->sessions_ = std::move(*sessions);
  Result<DedupTable> dedup = DedupTable::FromSnapshot(snapshot, options.max_dedup_clients);
  if (!dedup.ok()) return dedup.status();
  impl->dedup_ = std::move(*dedup);
  // Locks and elections name only live sessions (a session's end releases them).
  auto live = [&impl](int64_t id) { return impl->sessions_.Find(id) != nullptr; };
  COORD_RETURN_IF_ERROR(impl->locks_.Load(snapshot, live));
  COORD_RETURN_IF_ERROR(impl->elections_.Load(snapshot, live));
  COORD_RETURN_IF_ERROR(impl->tpc_.Load(snapshot));
  COORD_RETURN_IF_ERROR(impl->auth_.Load(snapshot));
  impl->retired_members_.insert(snapshot.retired_members().begin(),
                                snapshot.retired_members().end());

  // Rebuild each session's key set from the live keys that name it; a live key of
  // an unknown session would never be cleaned up, so it is corruption.
  for (const auto& [key, history] : impl->keys_.histories()) {
    const KeyVersion& latest = history.back();
    if (latest.deleted || latest.session == 0) continue;
    if (impl->sessions_.Find(latest.session) == nullptr) {
      return Status::Corruption("state snapshot: key \"" + key + "\" names unknown session " +
                                std::to_string(latest.session));
    }
    impl->sessions_.AddKey(latest.session, key);
  }
  return impl;
}

}  // namespace coord::server
