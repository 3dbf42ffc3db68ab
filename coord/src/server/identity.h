// The data directory's identity file and lock (see server.h, "Member identity").
//
// Layout of DIR:
//   DIR/member.id   text: "cluster_id=N\nname=NAME\nmember_id=N\n"
//   DIR/LOCK        flock()ed by the running member
//   DIR/raft/       the Raft log (LevelDbStorage)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "coord/status.h"

namespace coord::server {

struct MemberIdentity {
  uint64_t cluster_id = 0;
  std::string name;
  uint64_t member_id = 0;
};

// Parses the identity file text. kCorruption for anything malformed.
Result<MemberIdentity> ParseIdentity(const std::string& text);
std::string FormatIdentity(const MemberIdentity& identity);

// Writes DIR/member.id if missing, else checks it matches `expected`:
// kPermissionDenied "data directory DIR belongs to member X of cluster C".
Status CheckOrWriteIdentity(const std::string& dir, const MemberIdentity& expected);

// An exclusive advisory lock on DIR/LOCK, released by the destructor.
class DirLock {
 public:
  // kIOError "data directory DIR is in use by another coordd" if held elsewhere.
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace coord::server
