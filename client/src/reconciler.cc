// coord::Reconciler: campaign, run passes while leading, proclaim each result.
#include "coord/client/reconciler.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "backoff.h"
#include "background_worker.h"
#include "coord/client/election.h"
#include "coord/client/session.h"

namespace coord {
namespace client_internal {

class ReconcilerState : public std::enable_shared_from_this<ReconcilerState> {
 public:
  using Duration = Reconciler::Duration;

  ReconcilerState(Client& client, Reconciler::Options options, Reconciler::Pass pass)
      : client_(client), options_(std::move(options)), pass_(std::move(pass)) {}

  void Start() {
    worker_.Start([this] { Work(); });
  }

  void Stop() { worker_.Stop(); }

  void RunNow() {
    run_now_ = true;
    worker_.Wake();
  }

  Reconciler::Stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  bool WaitLeader(Duration timeout) const {
    std::unique_lock lock(mu_);
    return state_cv_.wait_for(lock, timeout, [&] { return stats_.leader; });
  }

  bool WaitPasses(uint64_t passes, Duration timeout) const {
    std::unique_lock lock(mu_);
    return state_cv_.wait_for(lock, timeout, [&] { return stats_.passes > passes; });
  }

 private:
  static constexpr Duration kStep{500};

  bool stopping() const { return worker_.stopping(); }
  void Pause(Duration d) { worker_.Pause(d); }

  std::string StatusLine(uint64_t pass, const Reconciler::Report& report,
                         std::chrono::system_clock::time_point at) const {
    std::string line =
        options_.instance + " every " + std::to_string(options_.interval.count()) + " ms; ";
    if (pass == 0) return line + "no pass yet";
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
    line += "pass " + std::to_string(pass) + (report.status.ok() ? " ok" : " error") + " at " +
            std::to_string(ms) + ": repaired " + std::to_string(report.repaired);
    const std::string& detail = report.status.ok() ? report.summary : report.status.ToString();
    if (!detail.empty()) line += "; " + detail;
    return line;
  }

  void SetLeader(bool leader, int64_t term) {
    {
      std::lock_guard lock(mu_);
      stats_.leader = leader;
      if (leader) stats_.term = term;
    }
    state_cv_.notify_all();
  }

  void Work() {
    Backoff errors(Duration(50), Duration(1000), std::random_device{}());
    std::unique_ptr<Session> session;
    std::unique_ptr<Election> election;
    while (!stopping()) {
      if (session == nullptr || session->lost()) {
        election.reset();
        session.reset();
        Session::Options so;
        so.ttl = options_.session_ttl;
        so.on_lost = [weak = weak_from_this()] {
          if (auto self = weak.lock()) self->worker_.Wake();
        };
        auto s = Session::Create(client_, so, kStep * 4);
        if (!s.ok()) {
          Pause(errors.Next());
          continue;
        }
        session = std::move(*s);
        election = std::make_unique<Election>(*session, Reconciler::ElectionName(options_.name));
      }
      auto term = election->Campaign(StatusLine(0, {}, {}), kStep * 2);
      if (!term.ok()) {
        if (term.status().code() != StatusCode::kTimeout) Pause(errors.Next());
        continue;
      }
      errors.Reset();
      SetLeader(true, *term);
      Lead(*election, *term);
      SetLeader(false, 0);
    }
    if (election != nullptr) (void)election->Resign(kStep * 2);
    election.reset();
    if (session != nullptr) (void)session->Close(kStep * 2);
  }

  // Runs passes while this instance leads: one at once, then every interval.
  void Lead(Election& election, int64_t term) {
    run_now_ = false;  // a RunNow() while standing by asked nothing of this leadership
    while (!stopping() && election.is_leader()) {
      const Reconciler::Report report = RunPass(term);
      const auto finished = std::chrono::system_clock::now();
      uint64_t passes;
      {
        std::lock_guard lock(mu_);
        passes = ++stats_.passes;
        stats_.repaired_total += report.repaired;
        stats_.last = report;
        stats_.last_finished = finished;
      }
      const std::string line = StatusLine(passes, report, finished);
      const Status proclaimed = election.Proclaim(line, kStep * 4);
      {
        std::lock_guard lock(mu_);
        if (proclaimed.ok()) stats_.published = line;
      }
      state_cv_.notify_all();
      // Until the interval has passed, RunNow() or a stop; wake every step to
      // notice a lost leadership.
      const auto until = std::chrono::steady_clock::now() + options_.interval;
      while (!stopping() && !run_now_.load() && election.is_leader() &&
             std::chrono::steady_clock::now() < until) {
        const auto left = std::chrono::duration_cast<Duration>(until - std::chrono::steady_clock::now());
        worker_.WaitUntil(std::min(left, kStep), [&] { return run_now_.load(); });
      }
      run_now_ = false;
    }
  }

  Reconciler::Report RunPass(int64_t term) {
    try {
      return pass_(term);
    } catch (const std::exception& e) {
      Reconciler::Report r;
      r.status = Status::Internal(std::string("pass threw: ") + e.what());
      return r;
    } catch (...) {
      Reconciler::Report r;
      r.status = Status::Internal("pass threw a non-standard exception");
      return r;
    }
  }

  Client& client_;
  const Reconciler::Options options_;
  const Reconciler::Pass pass_;

  std::atomic<bool> run_now_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable state_cv_;  // wakes WaitLeader / WaitPasses
  Reconciler::Stats stats_;
  BackgroundWorker worker_;  // last: joined before the members it uses go
};

}  // namespace client_internal

namespace {

std::string DefaultInstance() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::to_string(getpid()) + "@" + host;
}

}  // namespace

std::string Reconciler::ElectionName(const std::string& name) {
  return "/_coord/reconcilers/" + name;
}

Result<std::unique_ptr<Reconciler>> Reconciler::Start(Client& client, Options options, Pass pass) {
  if (options.name.empty()) return Status::InvalidArgument("reconciler name must not be empty");
  if (options.interval.count() <= 0 || options.session_ttl.count() <= 0) {
    return Status::InvalidArgument("interval and session_ttl must be positive");
  }
  if (!pass) return Status::InvalidArgument("reconciler needs a pass");
  if (options.instance.empty()) options.instance = DefaultInstance();
  auto state = std::make_shared<client_internal::ReconcilerState>(client, std::move(options),
                                                                  std::move(pass));
  state->Start();
  return std::unique_ptr<Reconciler>(new Reconciler(std::move(state)));
}

Reconciler::Reconciler(std::shared_ptr<client_internal::ReconcilerState> state)
    : state_(std::move(state)) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Stop() { state_->Stop(); }

void Reconciler::RunNow() { state_->RunNow(); }

Reconciler::Stats Reconciler::stats() const { return state_->stats(); }

bool Reconciler::WaitLeader(Duration timeout) const { return state_->WaitLeader(timeout); }

bool Reconciler::WaitPasses(uint64_t passes, Duration timeout) const {
  return state_->WaitPasses(passes, timeout);
}

Result<std::string> Reconciler::Published(Client& client, const std::string& name,
                                          Duration timeout) {
  auto leader = Election::Leader(client, ElectionName(name), timeout);
  if (!leader.ok()) return leader.status();
  return leader->value();
}

}  // namespace coord
