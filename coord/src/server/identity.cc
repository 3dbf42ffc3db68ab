#include "server/identity.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "coord/server/server.h"

namespace coord::server {
namespace {

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

uint64_t MemberIdFromName(const std::string& name) { return Fnv1a("member:" + name); }
uint64_t ClusterIdFromToken(const std::string& token) { return Fnv1a("cluster:" + token); }

Result<MemberIdentity> ParseIdentity(const std::string& text) {
  MemberIdentity id;
  bool have_cluster = false, have_name = false, have_member = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return Status::Corruption("identity line without '='");
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "cluster_id") {
      have_cluster = ParseU64(value, &id.cluster_id);
    } else if (key == "name") {
      id.name = value;
      have_name = !value.empty();
    } else if (key == "member_id") {
      have_member = ParseU64(value, &id.member_id);
    } else {
      return Status::Corruption("unknown identity key '" + key + "'");
    }
  }
  if (!have_cluster || !have_name || !have_member) {
    return Status::Corruption("identity file lacks cluster_id, name or member_id");
  }
  return id;
}

std::string FormatIdentity(const MemberIdentity& identity) {
  return "cluster_id=" + std::to_string(identity.cluster_id) + "\nname=" + identity.name +
         "\nmember_id=" + std::to_string(identity.member_id) + "\n";
}

Status CheckOrWriteIdentity(const std::string& dir, const MemberIdentity& expected) {
  const std::filesystem::path path = std::filesystem::path(dir) / "member.id";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in.good() && !in.eof()) return Status::IOError("cannot read " + path.string());
    auto found = ParseIdentity(buf.str());
    if (!found.ok()) {
      return Status(found.status().code(), path.string() + ": " + found.status().message());
    }
    if (found->cluster_id != expected.cluster_id || found->name != expected.name ||
        found->member_id != expected.member_id) {
      return Status(StatusCode::kPermissionDenied,
                    "data directory " + dir + " belongs to member '" + found->name +
                        "' of cluster " + std::to_string(found->cluster_id) + ", not member '" +
                        expected.name + "' of cluster " + std::to_string(expected.cluster_id));
    }
    return Status::Ok();
  }
  // Write to a temporary file, then rename: a crash never leaves half a file.
  const std::filesystem::path tmp = std::filesystem::path(dir) / "member.id.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << FormatIdentity(expected);
    out.flush();
    if (!out.good()) return Status::IOError("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

Result<std::unique_ptr<DirLock>> DirLock::Acquire(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "LOCK").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::IOError("data directory " + dir + " is in use by another coordd");
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<DirLock>(new DirLock(fd));
}

DirLock::~DirLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace coord::server
