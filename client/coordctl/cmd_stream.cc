// The streaming commands: watch KEY and elect --observe NAME. Both print every
// event as it arrives (one line, or one JSON object per event) until SIGINT /
// SIGTERM (exit 0), --count events (exit 0), or the stream ends with an error.
#include <atomic>

#include "commands.h"
#include "coord/client/election.h"
#include "coord/client/watch.h"
#include "render.h"
#include "requests.h"
#include "stop_events.h"

namespace coord::ctl {
namespace {

// Counts printed events against --count (0 = unbounded); the callbacks run on the
// client's single executor thread, the main thread only reads `done`.
class EventBudget {
 public:
  explicit EventBudget(int64_t limit) : limit_(limit) {}
  // True if one more event may be printed; posts the stop after the last one.
  bool Take() {
    if (limit_ == 0) return true;
    const int64_t n = printed_.fetch_add(1) + 1;
    if (n > limit_) return false;
    if (n == limit_) StopEvents::Process().Done(Outcome::Ok());
    return true;
  }

 private:
  const int64_t limit_;
  std::atomic<int64_t> printed_{0};
};

// Waits for the end of a stream: a signal or the budget ends it successfully; a
// kDone event carries the stream's own end.
Outcome WaitStreamEnd() {
  StopEvent e = StopEvents::Process().Next();
  if (e.kind == StopEvent::Kind::kSignal) return Outcome::Ok();
  return e.outcome;
}

}  // namespace

Outcome RunWatch(const Invocation& inv, Context& ctx) {
  Result<Request> request = BuildWatch(inv);
  if (!request.ok()) return UsageError(request.status().message());
  Result<int64_t> count = EventCount(inv);
  if (!count.ok()) return UsageError(count.status().message());
  auto client = ctx.client();
  if (!client.ok()) return FromStatus(client.status());
  StartSignalThread();

  const auto& w = request->watch_create();
  coord::Watch::Options options;
  options.key = w.key();
  options.prefix = w.prefix();
  options.start_revision = w.start_revision();
  options.prev_kv = w.prev_kv();
  EventBudget budget(*count);
  Printer& printer = ctx.printer();
  const OutputFormat format = ctx.format();
  auto on_events = [&budget, &printer, format](const coord::v1::WatchEvent& batch) {
    for (const coord::v1::Event& event : batch.events()) {
      if (!budget.Take()) return;
      printer.Emit(RenderEvent(event, format));
    }
  };
  auto on_end = [](const Status& end) {
    StopEvents::Process().Done(end.ok() ? Outcome{kExitError, "the watch ended"} : FromStatus(end));
  };
  auto watch = coord::Watch::Create(**client, options, on_events, on_end, ctx.global().timeout);
  if (!watch.ok()) return FromStatus(watch.status());
  Outcome outcome = WaitStreamEnd();
  (*watch)->Cancel();
  return outcome;
}

Outcome RunObserve(const Invocation& inv, Context& ctx) {
  if (inv.args.size() != 1) {
    return UsageError(
        "elect --observe takes exactly one argument (usage: coordctl elect "
        "--observe NAME)");
  }
  if (inv.args[0].empty()) return UsageError("NAME must not be empty");
  if (inv.Has("ttl")) return UsageError("--ttl does not apply to elect --observe");
  Result<int64_t> count = EventCount(inv);
  if (!count.ok()) return UsageError(count.status().message());
  auto client = ctx.client();
  if (!client.ok()) return FromStatus(client.status());
  StartSignalThread();

  EventBudget budget(*count);
  Printer& printer = ctx.printer();
  const OutputFormat format = ctx.format();
  auto on_change = [&budget, &printer, format](const coord::v1::ElectionLeader& leader) {
    if (!budget.Take()) return;
    printer.Emit(RenderLeader(leader, format));
  };
  auto observer =
      coord::ElectionObserver::Create(**client, inv.args[0], on_change, ctx.global().timeout);
  if (!observer.ok()) return FromStatus(observer.status());
  Outcome outcome = WaitStreamEnd();
  (*observer)->Cancel();
  return outcome;
}

}  // namespace coord::ctl
