#include "storage/snapshot_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

#include "storage/coding.h"
#include "storage/crc32c.h"

namespace coord::raft::storage_internal {
namespace {

constexpr char kMagic[] = "COORDSNP";  // 8 bytes without the NUL
constexpr size_t kMagicSize = 8;
constexpr uint32_t kFileVersion = 1;
constexpr size_t kHeaderSize = 32;
constexpr size_t kChunkSize = 1 << 20;

std::string Errno(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

// Closes a file descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports the error (close can report a failed write-back).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status WriteAll(int fd, const std::string& path, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(Errno("cannot write", path, errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads exactly n bytes; returns the count actually read (< n at end of file).
Result<size_t> ReadFully(int fd, const std::string& path, char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::read(fd, buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(Errno("cannot read", path, errno));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

bool SameConfState(const pb::ConfState& a, const pb::ConfState& b) {
  return std::equal(a.voters().begin(), a.voters().end(), b.voters().begin(), b.voters().end()) &&
         std::equal(a.learners().begin(), a.learners().end(), b.learners().begin(),
                    b.learners().end());
}

}  // namespace

std::string SnapshotFileName(Index index, Term term) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "snap-%016" PRIx64 "-%016" PRIx64 "%s", index, term,
                kSnapshotFileSuffix);
  return buf;
}

Status WriteSnapshotFile(const std::string& dir, const pb::SnapshotMetadata& metadata,
                         std::string_view data, bool sync) {
  std::string meta_bytes;
  if (!metadata.SerializeToString(&meta_bytes)) {
    return Status::Internal("cannot serialize snapshot metadata");
  }
  uint32_t body_crc = Crc32cExtend(Crc32c(meta_bytes), data.data(), data.size());
  std::string header(kMagic, kMagicSize);
  PutFixed32(&header, kFileVersion);
  PutFixed32(&header, static_cast<uint32_t>(meta_bytes.size()));
  PutFixed64(&header, data.size());
  PutFixed32(&header, body_crc);
  PutFixed32(&header, Crc32c(header));

  const std::string final_path = dir + "/" + SnapshotFileName(metadata.index(), metadata.term());
  const std::string temp_path = final_path + kTempFileSuffix;
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(Errno("cannot create", temp_path, errno));
  FdCloser closer(fd);
  COORD_RETURN_IF_ERROR(WriteAll(fd, temp_path, header));
  COORD_RETURN_IF_ERROR(WriteAll(fd, temp_path, meta_bytes));
  COORD_RETURN_IF_ERROR(WriteAll(fd, temp_path, data));
  if (sync && ::fdatasync(fd) != 0) return Status::IOError(Errno("cannot fsync", temp_path, errno));
  if (closer.Close() != 0) return Status::IOError(Errno("cannot close", temp_path, errno));
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return Status::IOError(Errno("cannot rename to " + final_path + ":", temp_path, errno));
  }
  return sync ? SyncDir(dir) : Status::Ok();
}

Status ReadSnapshotFile(const std::string& dir, const pb::SnapshotMetadata& expected,
                        std::string* data_out) {
  const std::string name = SnapshotFileName(expected.index(), expected.term());
  const std::string path = dir + "/" + name;
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("corrupt snapshot at index " + std::to_string(expected.index()) +
                              " in " + dir + ": " + name + ": " + why);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return corrupt("file is missing");
    return Status::IOError(Errno("cannot open", path, errno));
  }
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(Errno("cannot stat", path, errno));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  char header[kHeaderSize];
  Result<size_t> got = ReadFully(fd, path, header, kHeaderSize);
  if (!got.ok()) return got.status();
  if (*got < kHeaderSize) {
    return corrupt("truncated header (" + std::to_string(*got) + " of " +
                   std::to_string(kHeaderSize) + " bytes)");
  }
  if (std::memcmp(header, kMagic, kMagicSize) != 0) return corrupt("bad magic");
  if (DecodeFixed32(header + 28) != Crc32cExtend(0, header, 28)) {
    return corrupt("header checksum mismatch");
  }
  if (uint32_t v = DecodeFixed32(header + 8); v != kFileVersion) {
    return corrupt("unsupported file version " + std::to_string(v));
  }
  const uint64_t meta_len = DecodeFixed32(header + 12);
  const uint64_t data_len = DecodeFixed64(header + 16);
  const uint32_t body_crc = DecodeFixed32(header + 24);
  // Checked before any allocation, so a garbled length cannot ask for terabytes.
  if (data_len > file_size || kHeaderSize + meta_len + data_len != file_size) {
    return corrupt("size mismatch: header says " + std::to_string(meta_len) + " + " +
                   std::to_string(data_len) + " body bytes, file has " +
                   std::to_string(file_size - kHeaderSize) + " (truncated or garbled)");
  }

  std::string meta_bytes(meta_len, '\0');
  got = ReadFully(fd, path, meta_bytes.data(), meta_len);
  if (!got.ok()) return got.status();
  if (*got != meta_len) return corrupt("truncated while reading");
  uint32_t crc = Crc32c(meta_bytes);

  if (data_out != nullptr) {
    data_out->assign(data_len, '\0');
    got = ReadFully(fd, path, data_out->data(), data_len);
    if (!got.ok()) return got.status();
    if (*got != data_len) return corrupt("truncated while reading");
    crc = Crc32cExtend(crc, data_out->data(), data_len);
  } else {
    std::vector<char> chunk(kChunkSize);
    for (uint64_t left = data_len; left > 0;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, kChunkSize));
      got = ReadFully(fd, path, chunk.data(), want);
      if (!got.ok()) return got.status();
      if (*got != want) return corrupt("truncated while reading");
      crc = Crc32cExtend(crc, chunk.data(), want);
      left -= want;
    }
  }
  if (crc != body_crc) return corrupt("checksum mismatch");

  pb::SnapshotMetadata stored;
  if (!stored.ParseFromString(meta_bytes)) return corrupt("undecodable metadata");
  if (stored.index() != expected.index() || stored.term() != expected.term() ||
      !SameConfState(stored.conf_state(), expected.conf_state())) {
    return corrupt("metadata in the file (index " + std::to_string(stored.index()) + ", term " +
                   std::to_string(stored.term()) + ") disagrees with the log's record");
  }
  return Status::Ok();
}

Status RemoveStaleSnapshotFiles(const std::string& dir, const std::string& keep_name) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IOError(Errno("cannot list", dir, errno));
  std::vector<std::string> doomed;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.starts_with("snap-")) continue;
    if (name.ends_with(kTempFileSuffix) ||
        (name.ends_with(kSnapshotFileSuffix) && name != keep_name)) {
      doomed.emplace_back(name);
    }
  }
  ::closedir(d);
  Status first_error;
  for (const std::string& name : doomed) {
    std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && first_error.ok()) {
      first_error = Status::IOError(Errno("cannot remove", path, errno));
    }
  }
  if (!doomed.empty()) {
    Status s = SyncDir(dir);
    if (first_error.ok()) first_error = s;
  }
  return first_error;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(Errno("cannot open directory", dir, errno));
  FdCloser closer(fd);
  if (::fsync(fd) != 0) return Status::IOError(Errno("cannot fsync directory", dir, errno));
  return Status::Ok();
}

}  // namespace coord::raft::storage_internal
