#include "session_holder.h"

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

}  // namespace coord::ctl
