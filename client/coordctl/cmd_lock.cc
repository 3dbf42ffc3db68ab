// lock NAME [--ttl S] [--shared] [--try | --wait-timeout D] [-- CMD ARGS...]
//
// Without CMD: acquire, print the token, hold until SIGINT/SIGTERM, release,
// exit 0. With CMD: acquire, run CMD with COORD_LOCK_TOKEN / COORD_LOCK_NAME /
// COORD_SESSION_ID in its environment, release when it exits, and exit with its
// status. SIGINT/SIGTERM received while CMD runs are forwarded to it. If the
// session is lost (the library's conservative local deadline, before the ensemble
// could give the lock to someone else), CMD gets SIGTERM (SIGKILL after a grace
// period) and coordctl exits 6.
#include <signal.h>

#include <optional>
#include <thread>

#include "child_process.h"
#include "commands.h"
#include "coord/client/lock.h"
#include "render.h"
#include "requests.h"
#include "session_holder.h"
#include "stop_events.h"

namespace coord::ctl {
namespace {

// How long CMD may take to exit after SIGTERM once the session is lost.
constexpr std::chrono::seconds kTermGrace{10};

struct LockArgs {
  std::string name;
  int64_t ttl_ms = 0;
  bool shared = false;
  bool try_only = false;
  std::chrono::milliseconds wait{std::chrono::milliseconds::max()};
};

Result<LockArgs> ParseLockArgs(const Invocation& inv) {
  LockArgs a;
  a.name = inv.args[0];
  if (a.name.empty()) return Status::InvalidArgument("NAME must not be empty");
  auto ttl = SessionTtlMs(inv);
  if (!ttl.ok()) return ttl.status();
  a.ttl_ms = *ttl;
  a.shared = inv.Has("shared");
  a.try_only = inv.Has("try");
  if (auto w = inv.Flag("wait-timeout")) {
    if (a.try_only) return Status::InvalidArgument("--try and --wait-timeout exclude each other");
    auto d = ParseDuration("--wait-timeout", *w);
    if (!d.ok()) return d.status();
    a.wait = *d;
  }
  if (a.try_only) a.wait = std::chrono::milliseconds(0);
  return a;
}

// Releases the lock and closes the session (which would release it anyway).
Status ReleaseAndClose(coord::Lock& lock, SessionHolder& holder, std::chrono::milliseconds t) {
  Status released = lock.Release();
  Status closed = holder.Close(t);
  return released.ok() ? closed : released;
}

// Runs CMD while the lock is held; returns the outcome of the whole command.
Outcome RunChild(const Invocation& inv, const LockArgs& args, coord::Lock& lock,
                 SessionHolder& holder, Context& ctx) {
  StopEvents& events = StopEvents::Process();
  auto [pid, spawn_error] =
      SpawnChild(inv.exec, {{"COORD_LOCK_TOKEN", std::to_string(lock.token())},
                            {"COORD_LOCK_NAME", args.name},
                            {"COORD_SESSION_ID", std::to_string(holder.id())}});
  if (spawn_error) {
    ReleaseAndClose(lock, holder, ctx.global().timeout).IgnoreError();
    return {spawn_error->exit_code, spawn_error->message};
  }
  std::thread watcher([pid = pid, &events] {
    WaitExitedNoReap(pid);
    events.Post({StopEvent::Kind::kChildExited, 0, 0, {}});
  });
  bool lost = false;
  std::optional<std::chrono::steady_clock::time_point> kill_at;
  while (true) {
    std::optional<StopEvent> e;
    if (kill_at) {
      e = events.NextFor(std::chrono::duration_cast<std::chrono::milliseconds>(
          *kill_at - std::chrono::steady_clock::now()));
      if (!e) {
        kill(pid, SIGKILL);  // ignored SIGTERM for the whole grace period
        kill_at.reset();
        continue;
      }
    } else {
      e = events.Next();
    }
    if (e->kind == StopEvent::Kind::kChildExited) break;
    // The child is not reaped yet (WaitExitedNoReap), so `pid` is still ours.
    if (e->kind == StopEvent::Kind::kSignal) kill(pid, e->signo);
    if (e->kind == StopEvent::Kind::kLost && !lost) {
      lost = true;
      kill(pid, SIGTERM);
      kill_at = std::chrono::steady_clock::now() + kTermGrace;
    }
  }
  watcher.join();
  const int status = WaitChild(pid);
  if (lost) {
    return {kExitSessionLost, "session " + std::to_string(holder.id()) + " lost while \"" +
                                  inv.exec[0] + "\" held lock " + args.name +
                                  "; sent it SIGTERM (exit status " + std::to_string(status) + ")"};
  }
  Status released = ReleaseAndClose(lock, holder, ctx.global().timeout);
  if (!released.ok()) {
    return {status, "warning: releasing lock " + args.name + " failed (" +
                        OneLine(released.ToString()) + "); it ends when session " +
                        std::to_string(holder.id()) + " expires"};
  }
  return {status, ""};
}

}  // namespace

Outcome RunLock(const Invocation& inv, Context& ctx) {
  Result<LockArgs> parsed = ParseLockArgs(inv);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  const LockArgs& args = *parsed;
  StartSignalThread();
  auto holder = SessionHolder::Create(ctx, args.ttl_ms);
  if (!holder.ok()) return FromStatus(holder.status());
  coord::Lock lock((*holder)->session(), args.name);
  StopEvents& events = StopEvents::Process();

  // A signal interrupts the wait: closing the session makes the library end the
  // acquire (kSessionExpired); a loss ends it the same way by itself.
  int interrupted_by = 0;
  Result<int64_t> acquired = (*holder)->WaitInterruptibly(
      [&] { return args.shared ? lock.AcquireShared(args.wait) : lock.Acquire(args.wait); },
      ctx.global().timeout, &interrupted_by);
  if (interrupted_by != 0) return Interrupted(interrupted_by, "waiting for lock " + args.name);
  if (!acquired.ok()) {
    const Status& s = acquired.status();
    if (s.code() == StatusCode::kTimeout && !args.try_only &&
        args.wait != std::chrono::milliseconds::max()) {
      return {kExitUnavailable, "lock " + args.name + " not granted within --wait-timeout"};
    }
    return FromStatus(s);
  }
  if (!inv.exec.empty()) return RunChild(inv, args, lock, **holder, ctx);

  ctx.printer().Emit(
      RenderLockHeld(args.name, (*holder)->id(), lock.token(), args.shared, ctx.format()));
  while (true) {
    StopEvent e = events.Next();
    if (e.kind == StopEvent::Kind::kSignal) break;
    if (e.kind == StopEvent::Kind::kLost) {
      return {kExitSessionLost, "session " + std::to_string((*holder)->id()) + " lost: lock " +
                                    args.name + " may be granted to another client now"};
    }
  }
  Status released = ReleaseAndClose(lock, **holder, ctx.global().timeout);
  if (!released.ok()) {
    Outcome o = FromStatus(released);
    o.message = "releasing lock " + args.name + ": " + o.message + " (it ends when session " +
                std::to_string((*holder)->id()) + " expires)";
    return o;
  }
  return Outcome::Ok();
}

}  // namespace coord::ctl
