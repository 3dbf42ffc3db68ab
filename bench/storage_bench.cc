// storage_bench: how fast can a member make its Raft log durable?
//
// Prints one line per figure:
//   1. the disk's raw fsync rate: write 4 KiB + fdatasync on a temp file, repeated;
//   2. LevelDbStorage::Save with sync=true of 1, 64 and 512 entries of 64 bytes
//      per batch (plus a hard state, as a real Ready carries), in batches/s and
//      entries/s.
// The fsync rate bounds the batch rate; batching (group commit) turns it into
// entry throughput.
//
// Usage: storage_bench [--dir DIR] [--seconds S]
//   --dir      where to put the temp files (default: $TMPDIR or /tmp); pick the
//              disk you mean to run members on
//   --seconds  time budget per figure (default 4; four figures, so ~16 s)
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "coord/consensus/leveldb_storage.h"

namespace {

using Clock = std::chrono::steady_clock;
using coord::raft::Index;

struct Args {
  std::string dir;
  double seconds = 4.0;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  const char* tmp = std::getenv("TMPDIR");
  args->dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      args->dir = argv[++i];
    } else if (a == "--seconds" && i + 1 < argc) {
      char* end = nullptr;
      args->seconds = std::strtod(argv[++i], &end);
      if (end == nullptr || *end != '\0' || !(args->seconds > 0) || args->seconds > 600) {
        std::fprintf(stderr, "storage_bench: --seconds wants a number in (0, 600]\n");
        return false;
      }
    } else {
      std::fprintf(stderr, "usage: storage_bench [--dir DIR] [--seconds S]\n");
      return false;
    }
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The raw cost of a durable 4 KiB write on this disk.
bool BenchFsync(const std::string& dir, double budget) {
  std::string path = dir + "/fsync_probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "storage_bench: cannot create %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  std::vector<char> block(4096, 'f');
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget));
  uint64_t ops = 0;
  bool ok = true;
  // Append-and-sync like a write-ahead log: each write extends the file.
  while (Clock::now() < deadline && ops < 100000) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      std::fprintf(stderr, "storage_bench: write/fdatasync failed: %s\n", std::strerror(errno));
      ok = false;
      break;
    }
    ++ops;
  }
  const double elapsed = Seconds(Clock::now() - start);
  ::close(fd);
  ::unlink(path.c_str());
  if (ok) {
    std::printf("fsync 4KiB write+fdatasync: %8.0f ops/s  (%llu ops in %.2f s, %.1f us/op)\n",
                ops / elapsed, static_cast<unsigned long long>(ops), elapsed,
                1e6 * elapsed / static_cast<double>(ops));
  }
  return ok;
}

// LevelDbStorage::Save(sync=true) with `per_batch` entries of 64 bytes each.
bool BenchSave(const std::string& dir, size_t per_batch, double budget) {
  coord::raft::LevelDbStorageOptions options;
  options.dir = dir + "/save_" + std::to_string(per_batch);
  auto opened = coord::raft::LevelDbStorage::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", opened.status().ToString().c_str());
    return false;
  }
  coord::raft::LevelDbStorage& storage = **opened;
  const std::string payload(64, 'p');
  std::vector<coord::raft::pb::Entry> entries(per_batch);
  coord::raft::pb::HardState hs;
  hs.set_term(1);
  hs.set_vote(1);

  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget));
  uint64_t batches = 0;
  Index next = 1;
  while (Clock::now() < deadline && batches < 1000000) {
    for (auto& e : entries) {
      e.set_index(next++);
      e.set_term(1);
      e.set_data(payload);
    }
    hs.set_commit(next - 1);
    coord::raft::PersistBatch batch;
    batch.entries = &entries;
    batch.hard_state = &hs;
    batch.sync = true;
    coord::Status s = storage.Save(batch);
    if (!s.ok()) {
      std::fprintf(stderr, "storage_bench: Save failed: %s\n", s.ToString().c_str());
      return false;
    }
    ++batches;
  }
  const double elapsed = Seconds(Clock::now() - start);
  std::printf(
      "LevelDbStorage::Save sync=true %3zu x 64 B/batch: %8.0f batches/s %10.0f entries/s"
      "  (%llu batches in %.2f s)\n",
      per_batch, batches / elapsed, batches * per_batch / elapsed,
      static_cast<unsigned long long>(batches), elapsed);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  std::string tmpl = args.dir + "/coord_storage_bench_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    std::fprintf(stderr, "storage_bench: cannot create a directory in %s: %s\n", args.dir.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const std::string dir = buf.data();
  std::printf("storage_bench in %s, %.1f s per figure\n", dir.c_str(), args.seconds);
  std::fflush(stdout);
  bool ok = BenchFsync(dir, args.seconds);
  for (size_t per_batch : {1, 64, 512}) {
    std::fflush(stdout);
    ok = ok && BenchSave(dir, per_batch, args.seconds);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return ok ? 0 : 1;
}
