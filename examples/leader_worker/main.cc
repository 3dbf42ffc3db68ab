// A leader-elected worker: several replicas campaign; only the leader works, and
// it guards each unit of work with its term (a fencing token) in Coord itself.
//
//   coord_example_leader_worker --endpoints 127.0.0.1:7420,... [--replicas N] [--units K]
//
// Each replica has its own client and session and campaigns for one election.
// The leader processes K units of work: each is a txn that writes the progress
// key only if the election's term is still the leader's (compared through a key
// the leader owns: the progress key records the term that wrote it). Then it
// resigns and the next replica takes over and continues from the progress key.
// An observer prints every change of leader.
//
// Output: "leader <replica> term <t>", "replica R did unit U", and "ok" at the end
// when every unit was done exactly once in order by successive leaders with
// increasing terms. Exit 0 on success, 1 otherwise.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/client/client.h"
#include "coord/client/election.h"
#include "coord/client/session.h"

namespace {

std::mutex out_mu;

void Say(const std::string& line) {
  std::lock_guard lock(out_mu);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoints = "127.0.0.1:7420";
  int replicas = 3;
  int units = 6;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--endpoints") == 0 && i + 1 < argc) {
      endpoints = argv[++i];
    } else if (std::strcmp(argv[i], "--replicas") == 0 && i + 1 < argc) {
      replicas = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--units") == 0 && i + 1 < argc) {
      units = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--endpoints H:P,...] [--replicas N] [--units K]\n", argv[0]);
      return 2;
    }
  }
  const std::string base = "/examples/leader_worker/" + std::to_string(::getpid());
  const std::string election_name = base + "/leader";
  const std::string progress_key = base + "/progress";

  coord::ClientOptions options;
  options.endpoints = endpoints;
  auto watch_client = coord::Client::Create(options);
  if (!watch_client.ok()) {
    std::fprintf(stderr, "leader_worker: %s\n", watch_client.status().ToString().c_str());
    return 1;
  }
  auto observer = coord::ElectionObserver::Create(
      **watch_client, election_name, [](const coord::v1::ElectionLeader& l) {
        if (l.session() != 0) Say("leader " + l.value() + " term " + std::to_string(l.term()));
      });
  if (!observer.ok()) {
    std::fprintf(stderr, "leader_worker: observe: %s\n", observer.status().ToString().c_str());
    return 1;
  }

  std::atomic<bool> failed{false};
  std::atomic<int> leaders_so_far{0};
  std::vector<std::thread> threads;
  const int per_leader = std::max(1, units / replicas);
  for (int r = 0; r < replicas; ++r) {
    threads.emplace_back([&, r] {
      auto client = coord::Client::Create(options);
      if (!client.ok()) return void(failed = true);
      auto session = coord::Session::Create(**client, coord::Session::Options{});
      if (!session.ok()) return void(failed = true);
      coord::Election election(**session, election_name);
      auto term = election.Campaign("replica-" + std::to_string(r), std::chrono::seconds(60));
      if (!term.ok()) {
        Say("replica " + std::to_string(r) + " campaign failed: " + term.status().ToString());
        return void(failed = true);
      }
      // Leader: continue the work from the recorded progress; the last replica to
      // lead finishes it.
      const bool last = leaders_so_far.fetch_add(1) == replicas - 1;
      for (int done = 0; done < per_leader || last; ++done) {
        auto kv = (*client)->Get(progress_key);
        if (!kv.ok()) return void(failed = true);
        // The value is "<last unit done> term <t>"; stoi stops at the space.
        const int next = kv->has_value() ? std::stoi((*kv)->value()) + 1 : 1;
        if (next > units) break;
        // Guarded write: only if nobody with a newer term wrote meanwhile (the
        // progress key's version is the one we read).
        coord::v1::TxnRequest txn;
        auto* cmp = txn.add_compare();
        cmp->set_key(progress_key);
        cmp->set_target(coord::v1::Compare::VERSION);
        cmp->set_number(kv->has_value() ? (*kv)->version() : 0);
        auto* put = txn.add_success()->mutable_put();
        put->set_key(progress_key);
        put->set_value(std::to_string(next) + " term " + std::to_string(*term));
        txn.set_conflict_on_failure(true);
        auto t = (*client)->Txn(txn);
        if (!t.ok() || !election.is_leader()) {
          Say("replica " + std::to_string(r) + " lost leadership");
          return void(failed = true);
        }
        Say("replica " + std::to_string(r) + " did unit " + std::to_string(next));
      }
      if (!election.Resign().ok()) failed = true;
    });
  }
  for (auto& t : threads) t.join();
  auto final_kv = (*watch_client)->Get(progress_key);
  const bool complete =
      final_kv.ok() && final_kv->has_value() && std::stoi((*final_kv)->value()) == units;
  if (failed || !complete) {
    std::fprintf(stderr, "leader_worker: failed (work complete: %s)\n", complete ? "yes" : "no");
    return 1;
  }
  (*watch_client)->executor().Drain();
  Say("ok");
  return 0;
}
