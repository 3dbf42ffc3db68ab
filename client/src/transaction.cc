#include "coord/client/transaction.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>

#include "coord/client/watch.h"
#include "core.h"
#include "wire_rules.h"

namespace coord {

using client_internal::Clock;

namespace {

// What the mirror key says, shared between the watch callback and Await.
struct MirrorState {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<coord::v1::TpcState> decided;
  bool deleted = false;
  std::optional<Status> ended;
};

// The decision a mirror value names (nullopt while PREPARING or unreadable).
std::optional<coord::v1::TpcState> StateFromMirror(const std::string& value) {
  auto state = coord::v1::TpcStateFromMirrorValue(value);
  if (state == coord::v1::TPC_PREPARING) return std::nullopt;
  return state;
}

bool Decided(coord::v1::TpcState s) {
  return s == coord::v1::TPC_COMMITTED || s == coord::v1::TPC_ABORTED;
}

}  // namespace

std::string Transaction::MirrorKey(uint64_t txn_id) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(txn_id));
  return std::string("/_coord/txn/") + digits;
}

Result<std::unique_ptr<Transaction>> Transaction::Begin(Client& client,
                                                        std::vector<std::string> participants,
                                                        std::string payload, Duration txn_timeout,
                                                        Duration call_timeout) {
  if (txn_timeout.count() < 0) return Status::InvalidArgument("txn timeout must not be negative");
  coord::v1::Request r;
  auto* b = r.mutable_tpc_begin();
  for (auto& p : participants) b->add_participants(std::move(p));
  b->set_payload(std::move(payload));
  b->set_timeout_ms(txn_timeout.count());
  auto resp = client.Call(std::move(r), call_timeout);
  if (!resp.ok()) return resp.status();
  return std::unique_ptr<Transaction>(new Transaction(client, resp->tpc_begin().txn_id(),
                                                      Duration(resp->tpc_begin().timeout_ms()),
                                                      resp->header().revision()));
}

std::unique_ptr<Transaction> Transaction::Attach(Client& client, uint64_t txn_id,
                                                 int64_t begin_revision) {
  return std::unique_ptr<Transaction>(new Transaction(client, txn_id, Duration(0), begin_revision));
}

Result<coord::v1::TpcTxnInfo> Transaction::Get(Client& client, uint64_t txn_id, Duration timeout) {
  coord::v1::Request r;
  r.mutable_tpc_get()->set_txn_id(txn_id);
  auto resp = client.Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  return resp->tpc_get().txn();
}

Result<Transaction::Outcome> Transaction::Await(Duration timeout) {
  const Clock::time_point deadline = client_internal::DeadlineAfter(timeout);
  auto remaining = [&] {
    if (deadline == Clock::time_point::max()) return client_.options().default_timeout;
    return std::max(Duration(1), std::chrono::duration_cast<Duration>(deadline - Clock::now()));
  };
  Outcome out;
  out.txn_id = id_;
  auto finish = [&](coord::v1::TpcState state) -> Result<Outcome> {
    out.state = state;
    if (state == coord::v1::TPC_ABORTED) {
      // The reason lives in the transaction record (best effort: it may be
      // forgotten already).
      auto info = Get(client_, id_, std::min(remaining(), client_.options().default_timeout));
      if (info.ok()) out.reason = info->reason();
    }
    return out;
  };
  int64_t start = begin_revision_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto mirror = std::make_shared<MirrorState>();
    Watch::Options o;
    o.key = MirrorKey(id_);
    o.start_revision = start;
    auto on_events = [mirror](const coord::v1::WatchEvent& batch) {
      std::lock_guard lock(mirror->mu);
      for (const auto& e : batch.events()) {
        if (e.type() == coord::v1::Event::DELETE) {
          mirror->deleted = true;
        } else if (auto s = StateFromMirror(e.kv().value()); s && !mirror->decided) {
          mirror->decided = s;
        }
      }
      mirror->cv.notify_all();
    };
    auto on_end = [mirror](const Status& s) {
      std::lock_guard lock(mirror->mu);
      mirror->ended = s;
      mirror->cv.notify_all();
    };
    auto watch = Watch::Create(client_, o, on_events, on_end, remaining());
    if (!watch.ok()) {
      if (watch.status().code() != StatusCode::kCompacted || attempt > 0) return watch.status();
      start = 0;  // history is gone: watch from now and ask for the state
      continue;
    }
    if (start == 0) {
      // Watching from now: whatever was decided before is in the record.
      auto info = Get(client_, id_, remaining());
      if (!info.ok()) return info.status();  // kNotFound: forgotten (or never existed)
      if (Decided(info->state())) {
        out.state = info->state();
        out.reason = info->reason();
        return out;
      }
    }
    std::unique_lock lock(mirror->mu);
    mirror->cv.wait_until(lock, deadline, [&] {
      return mirror->decided.has_value() || mirror->deleted || mirror->ended.has_value();
    });
    if (mirror->decided) {
      const coord::v1::TpcState state = *mirror->decided;
      lock.unlock();
      (*watch)->Cancel();
      return finish(state);
    }
    if (mirror->deleted) {
      return Status::NotFound("transaction " + std::to_string(id_) +
                              " was forgotten before its decision was seen");
    }
    if (mirror->ended) {
      const Status ended = *mirror->ended;
      lock.unlock();
      if (ended.code() == StatusCode::kCompacted && attempt == 0) {
        start = 0;
        continue;
      }
      return ended;
    }
    return Status::Timeout("transaction " + std::to_string(id_) + " not decided in time");
  }
  return Status::Internal("unreachable");
}

}  // namespace coord
