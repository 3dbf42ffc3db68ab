// coord::Reconciler: a periodic repair pass (compare desired with actual state and
// fix the difference) run by exactly one instance at a time, with its interval
// and last result visible to anyone (eventual consistency, docs/consistency.md).
//
//   coord::Reconciler::Options o;
//   o.name = "inventory";
//   o.interval = std::chrono::seconds(10);
//   auto r = coord::Reconciler::Start(*client, o, [&](int64_t term) {
//     coord::Reconciler::Report report;
//     report.repaired = RepairDrift(term);   // the term fences the repairs
//     return report;
//   });
//
// One at a time. Every instance campaigns in the election
// "/_coord/reconcilers/" + name with its own Session (ttl = session_ttl); only
// the leader runs passes, the others wait and take over when its session ends.
// The pass gets the leadership's term, a fencing token: hand it to the services
// it repairs (FencingVerifier, fencing.h) so a deposed leader's late repairs are
// refused. The pass is skipped once this instance knows it no longer leads.
//
// Visible. The leader proclaims, as the election's value, a one-line status:
//   "<instance> every <interval> ms; pass <n> <ok|error> at <unix ms>: repaired <k>; <summary or error>"
// so `coordctl elect leader` style tools (Election::Leader, Reconciler::Published)
// show who reconciles, how often, and how the last pass went. stats() gives the
// same locally.
//
// Passes run on the reconciler's own thread, every `interval` (measured from the
// end of a pass), and at once after RunNow() or on becoming leader. An exception
// from the pass is reported as its error.
//
// Thread-safety: the methods are thread-safe. Must not outlive its Client.
// Status: new; may change.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "coord/client/client.h"
#include "coord/status.h"

namespace coord {

namespace client_internal {
class ReconcilerState;
}  // namespace client_internal

class Reconciler {
 public:
  using Duration = std::chrono::milliseconds;

  struct Options {
    std::string name;       // required
    std::string instance;   // who this is, in the published status; empty: "pid@host"
    Duration interval{10000};
    Duration session_ttl{3000};
  };

  struct Report {
    Status status;         // the pass failed when not OK
    int64_t repaired = 0;  // differences fixed
    std::string summary;   // one line for the published status
  };

  using Pass = std::function<Report(int64_t term)>;

  struct Stats {
    bool leader = false;
    int64_t term = 0;
    uint64_t passes = 0;          // run by this instance
    int64_t repaired_total = 0;
    Report last;                  // of this instance's last pass
    std::chrono::system_clock::time_point last_finished{};
    std::string published;        // the status line last proclaimed
  };

  // Validates the options and starts the instance's thread. Errors: kInvalidArgument.
  static Result<std::unique_ptr<Reconciler>> Start(Client& client, Options options, Pass pass);
  ~Reconciler();  // Stop()
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Resigns and stops; a pass in progress finishes first. Idempotent.
  void Stop();
  // The leader runs a pass now (a standby does nothing).
  void RunNow();

  Stats stats() const;
  bool WaitLeader(Duration timeout) const;
  // Waits until this instance has finished more than `passes` passes.
  bool WaitPasses(uint64_t passes, Duration timeout) const;

  // The status line the current leader of reconciler `name` published.
  // Errors: kNotFound (no leader), call errors.
  static Result<std::string> Published(Client& client, const std::string& name,
                                       Duration timeout = Duration(0));
  static std::string ElectionName(const std::string& name);

 private:
  explicit Reconciler(std::shared_ptr<client_internal::ReconcilerState> state);
  std::shared_ptr<client_internal::ReconcilerState> state_;
};

}  // namespace coord
