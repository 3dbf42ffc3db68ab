// elect NAME VALUE [--ttl S]: campaign, print when this process leads, hold the
// leadership until SIGINT/SIGTERM (then resign and exit 0). A lost session ends
// the leadership: exit 6.

#include "commands.h"
#include "coord/client/election.h"
#include "render.h"
#include "requests.h"
#include "session_holder.h"
#include "stop_events.h"

namespace coord::ctl {

Outcome RunElect(const Invocation& inv, Context& ctx) {
  if (inv.args.size() != 2) {
    return UsageError(
        "elect: expected NAME VALUE (usage: coordctl elect NAME VALUE | elect "
        "--observe NAME)");
  }
  const std::string& name = inv.args[0];
  const std::string& value = inv.args[1];
  if (name.empty()) return UsageError("NAME must not be empty");
  if (inv.Has("count")) return UsageError("--count applies to elect --observe only");
  Result<int64_t> ttl = SessionTtlMs(inv);
  if (!ttl.ok()) return UsageError(ttl.status().message());
  StartSignalThread();
  auto holder = SessionHolder::Create(ctx, *ttl);
  if (!holder.ok()) return FromStatus(holder.status());
  coord::Election election((*holder)->session(), name);
  StopEvents& events = StopEvents::Process();

  // A signal interrupts the campaign (closing the session withdraws the candidacy).
  int interrupted_by = 0;
  Result<int64_t> term = (*holder)->WaitInterruptibly([&] { return election.Campaign(value); },
                                                      ctx.global().timeout, &interrupted_by);
  if (interrupted_by != 0) return Interrupted(interrupted_by, "campaigning in " + name);
  if (!term.ok()) return FromStatus(term.status());

  coord::v1::ElectionLeader leader;
  leader.set_name(name);
  leader.set_session((*holder)->id());
  leader.set_value(value);
  leader.set_term(*term);
  ctx.printer().Emit(RenderLeader(leader, ctx.format()));
  while (true) {
    StopEvent e = events.Next();
    if (e.kind == StopEvent::Kind::kSignal) break;
    if (e.kind == StopEvent::Kind::kLost) {
      return {kExitSessionLost, "session " + std::to_string((*holder)->id()) +
                                    " lost: no longer the leader of " + name};
    }
  }
  Status resigned = election.Resign(ctx.global().timeout);
  Status closed = (*holder)->Close(ctx.global().timeout);
  if (!resigned.ok() || !closed.ok()) {
    Outcome o = FromStatus(resigned.ok() ? closed : resigned);
    o.message = "resigning from " + name + ": " + o.message;
    return o;
  }
  return Outcome::Ok();
}

}  // namespace coord::ctl
