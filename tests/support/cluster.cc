#include "cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

extern char** environ;

namespace coord::test {
namespace {

// fork + exec rather than posix_spawn, so the child can ask to be SIGKILLed when
// the test process dies (PR_SET_PDEATHSIG): a crashing test leaves no members.
// descriptor_limit > 0: the child's RLIMIT_NOFILE (soft and hard).
pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path,
            uint64_t descriptor_limit = 0) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(COORDD_PATH));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;  // parent (or -1)
  // Child: only async-signal-safe calls until exec.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  if (descriptor_limit > 0) {
    const rlimit rl{static_cast<rlim_t>(descriptor_limit), static_cast<rlim_t>(descriptor_limit)};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
  }
  const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  execve(COORDD_PATH, argv.data(), environ);
  _exit(127);
}

// waitpid with a deadline, polling WNOHANG (a child's exit has no fd to wait on).
int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, not a wait
  }
  return -2;
}

}  // namespace

int FreePort(const std::string& host) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

Ensemble::Ensemble(int size, int tick_ms) : tick_ms_(tick_ms) {
  char tmpl[] = "/tmp/coord-it-XXXXXX";
  root_ = mkdtemp(tmpl);
  for (int i = 0; i < size; ++i) {
    MemberProcess m;
    m.name = "m" + std::to_string(i + 1);
    m.host = "127.0.0." + std::to_string(i + 1);
    m.client_address = m.host + ":" + std::to_string(FreePort(m.host));
    m.peer_address = m.host + ":" + std::to_string(FreePort(m.host));
    m.data_dir = root_ + "/" + m.name;
    members_.push_back(m);
  }
  initial_ = size;
}

int Ensemble::AddSpare() {
  const int i = size();
  MemberProcess m;
  m.name = "m" + std::to_string(i + 1);
  m.host = "127.0.0." + std::to_string(i + 1);
  m.client_address = m.host + ":" + std::to_string(FreePort(m.host));
  m.peer_address = m.host + ":" + std::to_string(FreePort(m.host));
  m.data_dir = root_ + "/" + m.name;
  members_.push_back(m);
  return i;
}

Ensemble::~Ensemble() {
  for (int i = 0; i < size(); ++i) Kill(i);
  std::error_code ec;
  if (std::getenv("COORD_KEEP_TEST_DATA") == nullptr) std::filesystem::remove_all(root_, ec);
}

std::string Ensemble::initial_cluster() const {
  std::string s;
  for (int i = 0; i < initial_; ++i) {
    const MemberProcess& m = members_[i];
    if (!s.empty()) s += ",";
    s += m.name + "=" + m.peer_address;
  }
  return s;
}

Status Ensemble::Start(int i) {
  MemberProcess& m = members_[i];
  if (m.pid > 0) return Status::Ok();
  const std::string cluster =
      i < initial_ ? initial_cluster() : initial_cluster() + "," + m.name + "=" + m.peer_address;
  std::vector<std::string> args = {
      "--name", m.name, "--data-dir", m.data_dir, "--listen-client", m.client_address,
      "--listen-peer", m.peer_address, "--initial-cluster", cluster, "--tick-ms",
      std::to_string(tick_ms_), "--log-level", "info", "--snapshot-entries", "200",
      "--initial-cluster-state", i < initial_ ? "new" : "existing"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  if (member_args_) {
    const std::vector<std::string> own = member_args_(i);
    args.insert(args.end(), own.begin(), own.end());
  }
  m.pid = Spawn(args, log_path(i), descriptor_limit_);
  if (m.pid <= 0) return Status::IOError("cannot spawn coordd");
  // Ready when the client port accepts a WebSocket.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const bool ready = ready_check_
                           ? ready_check_(m.client_address)
                           : WsClient::Connect(m.client_address, std::chrono::milliseconds(200)).ok();
    if (ready) return Status::Ok();
    if (waitpid(m.pid, nullptr, WNOHANG) == m.pid) {
      m.pid = -1;
      return Status::IOError("coordd " + m.name + " exited at start; see " + root_);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  return Status::Timeout("coordd " + m.name + " did not open its client port");
}

Status Ensemble::StartAll() {
  for (int i = 0; i < initial_; ++i) COORD_RETURN_IF_ERROR(Start(i));
  return Status::Ok();
}

int Ensemble::Stop(int i) {
  MemberProcess& m = members_[i];
  if (m.pid <= 0) return -1;
  kill(m.pid, SIGTERM);
  const int status = WaitExit(m.pid, std::chrono::seconds(10));
  if (status == -2) {
    kill(m.pid, SIGKILL);
    waitpid(m.pid, nullptr, 0);
  }
  m.pid = -1;
  if (status != 0) {
    // A graceful stop that fails is a bug to diagnose: show how the member ended.
    std::ifstream log(log_path(i));
    std::deque<std::string> tail;
    for (std::string line; std::getline(log, line);) {
      tail.push_back(line);
      if (tail.size() > 40) tail.pop_front();
    }
    std::fprintf(stderr, "member %s exited with status %d on SIGTERM; its log ends:\n",
                 m.name.c_str(), status);
    for (const std::string& line : tail) std::fprintf(stderr, "  %s\n", line.c_str());
  }
  return status;
}

void Ensemble::Kill(int i) {
  MemberProcess& m = members_[i];
  if (m.pid <= 0) return;
  kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

namespace {
// The state letter of /proc/<pid>/stat ('T' once stopped), or 0.
char ProcessState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the command name may hold spaces
  return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 0;
}
}  // namespace

void Ensemble::Pause(int i) {
  const pid_t pid = members_[i].pid;
  if (pid <= 0) return;
  kill(pid, SIGSTOP);
  // The signal is delivered asynchronously: a thread on another core may serve a
  // request or two before it stops. Return once every thread has stopped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ProcessState(pid) != 'T' && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Ensemble::Resume(int i) {
  if (members_[i].pid > 0) kill(members_[i].pid, SIGCONT);
}

Result<int> Ensemble::WaitLeader(int i, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto client = WsClient::Connect(members_[i].client_address, std::chrono::milliseconds(500));
    if (client.ok()) {
      coord::v1::Request req;
      req.mutable_status();
      auto r = (*client)->Call(req, false, std::chrono::milliseconds(1000));
      if (r.ok() && r->status().leader_id() != 0) {
        for (int j = 0; j < size(); ++j) {
          if (r->status().leader_name() == members_[j].name) return j;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  return Status::Timeout("no leader seen by " + members_[i].name);
}

Result<int> Ensemble::WaitStableLeader(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int leader = -1;
    bool agree = true;
    for (int i = 0; i < size() && agree; ++i) {
      if (!Running(i)) continue;
      auto l = WaitLeader(i, std::chrono::milliseconds(std::max<int64_t>(
                                 1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        deadline - std::chrono::steady_clock::now())
                                        .count())));
      if (!l.ok()) return l.status();
      if (leader == -1) leader = *l;
      agree = leader == *l;
    }
    if (agree && leader >= 0 && Running(leader)) return leader;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  return Status::Timeout("members do not agree on a leader");
}

std::pair<int, std::string> Ensemble::RunToExit(const std::vector<std::string>& args,
                                                std::chrono::milliseconds timeout) {
  char tmpl[] = "/tmp/coord-it-out-XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  const pid_t pid = Spawn(args, tmpl);
  int status = pid > 0 ? WaitExit(pid, timeout) : -1;
  if (status == -2) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::ifstream in(tmpl);
  std::stringstream buf;
  buf << in.rdbuf();
  std::remove(tmpl);
  return {status, buf.str()};
}

}  // namespace coord::test
