// snapshot save FILE: a logical backup of the key space (docs/cli.md explains
// why: the API has no snapshot download). Reads every key at ONE revision R, in
// pages, and writes JSON lines: a header object, then one KeyValue per line. The
// file appears atomically (written to FILE.part, fsynced, renamed).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "output.h"
#include "render.h"

namespace coord::ctl {
namespace {

constexpr int64_t kPageSize = 1000;
constexpr std::string_view kFormat = "coord-keys-v1";

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(std::string("write: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The whole key space at one revision, streamed into `fd`. Returns {revision,
// keys, bytes}.
struct Saved {
  int64_t revision = 0;
  int64_t keys = 0;
  int64_t bytes = 0;
};

Result<Saved> Dump(Context& ctx, int fd) {
  Saved saved;
  std::string next_key;  // "" = from the start
  bool first = true;
  while (true) {
    coord::v1::Request req;
    auto* range = req.mutable_range();
    if (first) {
      // The first page is a linearizable read of everything; its revision pins
      // the rest.
      range->set_key("");
      range->set_prefix(true);
    } else {
      range->set_key(next_key);
      range->set_range_end(std::string(1, '\0'));  // [next_key, end of key space)
      range->set_revision(saved.revision);
    }
    range->set_limit(kPageSize);
    auto resp = ctx.Call(req);
    if (!resp.ok()) return resp.status();
    if (first) {
      saved.revision = resp->header().revision();
      const std::string header = JsonObject()
                                     .Str("format", kFormat)
                                     .Int("revision", saved.revision)
                                     .Int("compactedRevision", resp->header().compacted_revision())
                                     .Uint("memberId", resp->header().member_id())
                                     .ToString() +
                                 "\n";
      COORD_RETURN_IF_ERROR(WriteAll(fd, header));
      saved.bytes += static_cast<int64_t>(header.size());
      first = false;
    }
    std::string chunk;
    for (const auto& kv : resp->range().kvs()) chunk += MessageJson(kv) + "\n";
    COORD_RETURN_IF_ERROR(WriteAll(fd, chunk));
    saved.bytes += static_cast<int64_t>(chunk.size());
    saved.keys += resp->range().kvs_size();
    if (!resp->range().more() || resp->range().kvs_size() == 0) break;
    // The smallest key after the last one of this page.
    next_key = resp->range().kvs(resp->range().kvs_size() - 1).key() + std::string(1, '\0');
  }
  return saved;
}

}  // namespace

Outcome RunSnapshotSave(const Invocation& inv, Context& ctx) {
  const std::string& file = inv.args[0];
  if (file.empty()) return UsageError("FILE must not be empty");
  const std::string part = file + ".part";
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {kExitError, "cannot create " + part + ": " + std::strerror(errno)};
  Result<Saved> saved = Dump(ctx, fd);
  Status synced = saved.ok() && ::fsync(fd) != 0
                      ? Status::IOError(std::string("fsync: ") + std::strerror(errno))
                      : Status::Ok();
  ::close(fd);
  if (saved.ok() && synced.ok() && std::rename(part.c_str(), file.c_str()) != 0) {
    synced = Status::IOError("rename " + part + " to " + file + ": " + std::strerror(errno));
  }
  if (!saved.ok() || !synced.ok()) {
    ::unlink(part.c_str());
    Outcome o = FromStatus(saved.ok() ? synced : saved.status());
    o.message = "snapshot save: " + o.message;
    return o;
  }
  ctx.printer().Emit(
      RenderSnapshotSaved(file, saved->revision, saved->keys, saved->bytes, ctx.format()));
  return Outcome::Ok();
}

}  // namespace coord::ctl
