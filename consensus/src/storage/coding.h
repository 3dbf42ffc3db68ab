// Byte encodings of LevelDbStorage's keys and records (see the layout at the top
// of leveldb_storage.cc). Pure functions, tested alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "coord/consensus/types.h"

namespace coord::raft::storage_internal {

// One-byte key prefixes. Singleton records are read by exact key; entries by a
// range scan over the 'e' prefix.
inline constexpr char kEntryPrefix = 'e';         // 'e' + 8-byte big-endian index
inline constexpr char kFirstIndexKey[] = "f";     // compaction point
inline constexpr char kHardStateKey[] = "h";      // pb::HardState
inline constexpr char kSnapshotMetaKey[] = "m";   // pb::SnapshotMetadata
inline constexpr char kFormatVersionKey[] = "v";  // format version
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kEntryKeySize = 9;

void PutFixed32(std::string* dst, uint32_t v);  // little-endian
void PutFixed64(std::string* dst, uint64_t v);  // little-endian
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

// 'e' followed by the index in big-endian order, so LevelDB's bytewise key order
// is index order.
std::string EntryKey(Index index);
// The index of an entry key; nullopt if `key` is not a well-formed entry key.
std::optional<Index> DecodeEntryKey(std::string_view key);

// A record is crc32c(payload) as 4 little-endian bytes, then the payload.
std::string FrameRecord(std::string_view payload);
// Checks a record and returns its payload, or nullopt with `*why` set to a short
// reason ("record too short", "checksum mismatch").
std::optional<std::string_view> UnframeRecord(std::string_view record, std::string* why);

// Payload of the compaction-point record: first index and term of first - 1.
struct FirstIndexRecord {
  Index first_index = 1;
  Term prev_term = 0;
};
std::string EncodeFirstIndex(const FirstIndexRecord& record);
std::optional<FirstIndexRecord> DecodeFirstIndex(std::string_view payload);

}  // namespace coord::raft::storage_internal
