// CRC32C (Castagnoli polynomial, as in iSCSI, ext4 and LevelDB's own records):
// the checksum on every record LevelDbStorage writes. Our own table-driven
// implementation; LevelDB's crc32c is internal and not in its installed headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace coord::raft::storage_internal {

// Returns the CRC32C of data[0, n) continued from `crc`, the CRC32C of the bytes
// before them (0 for none): Crc32cExtend(Crc32c(a), b.data(), b.size()) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

// The CRC32C of `data`.
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

}  // namespace coord::raft::storage_internal
