#include "storage/coding.h"

#include "storage/crc32c.h"

namespace coord::raft::storage_internal {

void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
  dst->append(buf, sizeof(buf));
}

void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
  dst->append(buf, sizeof(buf));
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string EntryKey(Index index) {
  std::string key(kEntryKeySize, '\0');
  key[0] = kEntryPrefix;
  for (int i = 0; i < 8; ++i) key[1 + i] = static_cast<char>((index >> (56 - 8 * i)) & 0xFFu);
  return key;
}

std::optional<Index> DecodeEntryKey(std::string_view key) {
  if (key.size() != kEntryKeySize || key[0] != kEntryPrefix) return std::nullopt;
  Index index = 0;
  for (size_t i = 1; i < kEntryKeySize; ++i) index = (index << 8) | static_cast<uint8_t>(key[i]);
  return index;
}

std::string FrameRecord(std::string_view payload) {
  std::string record;
  record.reserve(4 + payload.size());
  PutFixed32(&record, Crc32c(payload));
  record.append(payload);
  return record;
}

std::optional<std::string_view> UnframeRecord(std::string_view record, std::string* why) {
  if (record.size() < 4) {
    *why = "record too short (" + std::to_string(record.size()) + " bytes)";
    return std::nullopt;
  }
  std::string_view payload = record.substr(4);
  if (DecodeFixed32(record.data()) != Crc32c(payload)) {
    *why = "checksum mismatch";
    return std::nullopt;
  }
  return payload;
}

std::string EncodeFirstIndex(const FirstIndexRecord& record) {
  std::string payload;
  PutFixed64(&payload, record.first_index);
  PutFixed64(&payload, record.prev_term);
  return payload;
}

std::optional<FirstIndexRecord> DecodeFirstIndex(std::string_view payload) {
  if (payload.size() != 16) return std::nullopt;
  FirstIndexRecord record;
  record.first_index = DecodeFixed64(payload.data());
  record.prev_term = DecodeFixed64(payload.data() + 8);
  if (record.first_index == 0) return std::nullopt;
  return record;
}

}  // namespace coord::raft::storage_internal
