#include "test_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

extern char** environ;

namespace coord::test {

std::vector<std::string> ChildResult::lines() const {
  std::vector<std::string> out_lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) out_lines.push_back(line);
  return out_lines;
}

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::string& path,
                                                 const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << errno;
    return nullptr;
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    // gtest may run us with signals blocked in some thread; give the child a clean mask.
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    execve(path.c_str(), argv.data(), environ);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    ADD_FAILURE() << "fork: " << errno;
    return nullptr;
  }
  std::unique_ptr<ChildProcess> p(new ChildProcess());
  p->pid_ = pid;
  ChildProcess* self = p.get();
  p->out_reader_ =
      std::thread([self, fd = out_pipe[0]] { self->ReadLoop(fd, &self->out_, &self->out_eof_); });
  p->err_reader_ =
      std::thread([self, fd = err_pipe[0]] { self->ReadLoop(fd, &self->err_, &self->err_eof_); });
  p->waiter_ = std::thread([self, pid] {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard<std::mutex> lock(self->mu_);
    self->exited_ = true;
    self->status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    self->cv_.notify_all();
  });
  return p;
}

void ChildProcess::ReadLoop(int fd, std::string* into, bool* eof) {
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      *eof = true;
      cv_.notify_all();
      break;
    }
    into->append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  close(fd);
}

ChildProcess::~ChildProcess() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!exited_) kill(pid_, SIGKILL);
  }
  waiter_.join();
  // A grandchild (lock's CMD) may still hold the pipes; it dies with its parent
  // in every test here, so EOF follows.
  out_reader_.join();
  err_reader_.join();
}

bool ChildProcess::WaitLines(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto complete_lines = [&] {
    size_t lines = 0;
    for (char c : out_) lines += c == '\n';
    return lines;
  };
  // Also stop waiting when the process is gone: no more lines can come.
  cv_.wait_for(lock, timeout, [&] { return complete_lines() >= n || (out_eof_ && exited_); });
  return complete_lines() >= n;
}

bool ChildProcess::WaitOutput(const std::function<bool(const std::vector<std::string>&)>& done,
                            std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto holds = [&] {
    ChildResult r;
    r.out = out_;
    return done(r.lines());
  };
  cv_.wait_for(lock, timeout, [&] { return holds() || (out_eof_ && exited_); });
  return holds();
}

std::vector<std::string> ChildProcess::Lines() {
  ChildResult r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r.out = out_;
  }
  return r.lines();
}

std::string ChildProcess::Err() {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

void ChildProcess::Signal(int signo) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!exited_) kill(pid_, signo);
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return exited_; })) return -1;
  return status_;
}

ChildResult ChildProcess::Finish(std::chrono::milliseconds timeout) {
  ChildResult r;
  std::unique_lock<std::mutex> lock(mu_);
  const bool done = cv_.wait_for(lock, timeout, [&] { return exited_ && out_eof_ && err_eof_; });
  r.exit_code = done ? status_ : -1;
  r.out = out_;
  r.err = err_;
  return r;
}

ChildResult RunChild(const std::string& path, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout) {
  auto p = ChildProcess::Start(path, args);
  if (p == nullptr) return {};
  return p->Finish(timeout);
}

}  // namespace coord::test
