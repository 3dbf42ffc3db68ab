// Snapshot image files of LevelDbStorage.
//
// The snapshot image (the application's state machine) lives in a file next to
// the LevelDB database rather than in a LevelDB value: images can be large, and
// a LevelDB value of hundreds of MB would be copied through the write-ahead log,
// the memtable and every compaction, while a file is written once, streamed for
// verification, and deleted in one call when superseded.
//
// File format (integers little-endian):
//   offset  0: magic "COORDSNP" (8 bytes)
//   offset  8: format version, u32 (1)
//   offset 12: metadata length M, u32
//   offset 16: data length D, u64
//   offset 24: crc32c of the M + D body bytes, u32
//   offset 28: crc32c of bytes [0, 28), u32
//   offset 32: serialized pb::SnapshotMetadata (M bytes), then the data (D bytes)
// The file size must be exactly 32 + M + D.
//
// Files are named snap-<index>-<term>.snap (16 hex digits each) and written to
// "<name>.tmp" first, fsynced, renamed, and the directory fsynced, so a crash
// leaves either no file or a complete one under the final name.
#pragma once

#include <string>
#include <string_view>

#include "coord/consensus/types.h"
#include "coord/status.h"

namespace coord::raft::storage_internal {

inline constexpr char kSnapshotFileSuffix[] = ".snap";
inline constexpr char kTempFileSuffix[] = ".tmp";

// "snap-00000000000004d2-0000000000000003.snap".
std::string SnapshotFileName(Index index, Term term);

// Writes the image durably (see above). With sync=false the fsyncs are skipped
// (only for the simulation and tests). Errors: kIOError naming the path.
Status WriteSnapshotFile(const std::string& dir, const pb::SnapshotMetadata& metadata,
                         std::string_view data, bool sync);

// Reads the file for `expected` (the metadata LevelDB points at) and checks its
// header, size, checksums and that its metadata equals `expected`. With
// `data_out` null the body is only streamed through the checksum (verification
// at Open without holding the image in memory). Errors: kCorruption
// "corrupt snapshot at index N in DIR: FILE: reason"; kIOError if unreadable
// (a missing file is kCorruption: LevelDB says it exists).
Status ReadSnapshotFile(const std::string& dir, const pb::SnapshotMetadata& expected,
                        std::string* data_out);

// Removes temp files and snapshot files other than `keep_name` ("" keeps none)
// from `dir`: leftovers of a crash before the batch that would have pointed at
// them, or images superseded by a newer snapshot. Best effort: errors are
// returned but leave the store consistent.
Status RemoveStaleSnapshotFiles(const std::string& dir, const std::string& keep_name);

// fsync of a directory, so a rename or unlink in it is durable.
Status SyncDir(const std::string& dir);

}  // namespace coord::raft::storage_internal
