#include "session_holder.h"

#include <optional>
#include <thread>

#include "stop_events.h"

namespace coord::ctl {

Result<std::unique_ptr<SessionHolder>> SessionHolder::Create(Context& ctx, int64_t ttl_ms) {
  auto client = ctx.client();
  if (!client.ok()) return client.status();
  std::unique_ptr<SessionHolder> holder(new SessionHolder());
  coord::Session::Options options;
  options.ttl = std::chrono::milliseconds(ttl_ms);
  // The library also reports "lost" when we close the session ourselves; only an
  // unexpected loss is an event for the command.
  options.on_lost = [closing = holder->closing_] {
    if (!closing->load()) StopEvents::Process().Lost();
  };
  auto session = coord::Session::Create(**client, std::move(options), ctx.global().timeout);
  if (!session.ok()) return session.status();
  holder->session_ = std::move(*session);
  return holder;
}

SessionHolder::~SessionHolder() {
  closing_->store(true);
  // ~Session closes it (best effort) unless already lost or closed.
}

Status SessionHolder::Close(std::chrono::milliseconds timeout) {
  closing_->store(true);
  return session_->Close(timeout);
}

Result<int64_t> SessionHolder::WaitInterruptibly(const std::function<Result<int64_t>()>& wait,
                                                 std::chrono::milliseconds close_timeout,
                                                 int* interrupted_by) {
  StopEvents& events = StopEvents::Process();
  std::optional<Result<int64_t>> result;
  std::thread worker([&] {
    result.emplace(wait());
    events.Ready(Outcome::Ok());
  });
  *interrupted_by = 0;
  while (true) {
    StopEvent e = events.Next();
    if (e.kind == StopEvent::Kind::kReady) break;
    if (e.kind == StopEvent::Kind::kSignal && *interrupted_by == 0) {
      *interrupted_by = e.signo;
      Close(close_timeout).IgnoreError();
    }
  }
  worker.join();
  return std::move(*result);
}

}  // namespace coord::ctl
