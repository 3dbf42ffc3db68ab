// Ensemble: a real 3-member Coord ensemble of coordd processes on 127.0.0.1,
// 127.0.0.2 and 127.0.0.3 (free ports, temporary data directories), for the
// integration tests. Members are started with fork/exec and killed (SIGKILL) by
// the destructor, or by the kernel if the test process dies (PR_SET_PDEATHSIG),
// so a failing or crashing test never leaves processes behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coord/status.h"
#include "ws_client.h"

namespace coord::test {

struct MemberProcess {
  std::string name;
  std::string host;
  std::string client_address;
  std::string peer_address;
  std::string data_dir;
  pid_t pid = -1;
};

class Ensemble {
 public:
  // Picks ports and directories; starts nothing.
  explicit Ensemble(int size = 3, int tick_ms = 30);
  ~Ensemble();  // SIGKILLs every member still running, removes the directories

  // Starts the initial members (not the spares).
  Status StartAll();
  // Extra coordd flags for every member started from now on (e.g. a cluster
  // token, small limits).
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // Extra coordd flags of member i (after the common ones), e.g. its own
  // certificate.
  void set_member_args(std::function<std::vector<std::string>(int)> args) {
    member_args_ = std::move(args);
  }
  // RLIMIT_NOFILE of every member started from now on (0: inherited).
  void set_descriptor_limit(uint64_t limit) { descriptor_limit_ = limit; }
  // How Start(i) knows a member is up: `ready(client_address)` returns true.
  // Default: a plain WebSocket connects (members with TLS need their own).
  void set_ready_check(std::function<bool(const std::string&)> ready) {
    ready_check_ = std::move(ready);
  }

  // Adds a spare member entry (name m<N>, host 127.0.0.<N>) that is not in the
  // initial cluster; returns its index. Start(i) launches it with the initial
  // cluster plus itself, as docs/operations.md describes for joining members.
  int AddSpare();
  Status Start(int i);
  // SIGTERM and wait for exit; returns the exit status (or -1).
  int Stop(int i);
  void Kill(int i);  // SIGKILL and reap
  // SIGSTOP / SIGCONT: the member freezes (its sockets stay open, nothing is
  // read). Pause returns once the process is stopped (/proc state T).
  void Pause(int i);
  void Resume(int i);
  // The file member i's stdout and stderr go to.
  std::string log_path(int i) const { return root_ + "/" + members_[i].name + ".log"; }
  bool Running(int i) const { return members_[i].pid > 0; }

  // Waits until member i reports a leader (status request). Returns the index of
  // the leader member, or an error at the deadline.
  Result<int> WaitLeader(int i, std::chrono::milliseconds timeout);
  // Waits until every running member agrees on one leader.
  Result<int> WaitStableLeader(std::chrono::milliseconds timeout);

  const MemberProcess& member(int i) const { return members_[i]; }
  int size() const { return static_cast<int>(members_.size()); }
  std::string initial_cluster() const;
  std::string root() const { return root_; }
  // Spawns coordd with `args` and waits for it to exit; returns the exit status
  // and the stderr text (for the refusal tests).
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& args,
                                               std::chrono::milliseconds timeout);

 private:
  std::vector<MemberProcess> members_;
  std::string root_;
  int tick_ms_;
  int initial_ = 0;
  std::vector<std::string> extra_args_;
  std::function<std::vector<std::string>(int)> member_args_;
  uint64_t descriptor_limit_ = 0;
  std::function<bool(const std::string&)> ready_check_;
};

// A free TCP port on `host` (bound and released).
int FreePort(const std::string& host);

}  // namespace coord::test
