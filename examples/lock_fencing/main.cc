// A Coord lock protecting a resource, with fencing tokens.
//
//   coord_example_lock_fencing --endpoints 127.0.0.1:7420,127.0.0.2:7420 [--workers N]
//
// Several workers (each with its own client and session, as separate processes
// would have) append to one "resource": an in-memory ledger standing in for a
// storage service. The resource checks every write's fencing token with a
// coord::FencingVerifier, so a holder that lost the lock (paused, partitioned,
// session expired) cannot write after the next holder did. The program ends by
// showing exactly that: a stale token is refused.
//
// Output: one line per write, then "stale token T refused" and "ok". Exit 0 on
// success, 1 on any error.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/client/client.h"
#include "coord/client/fencing.h"
#include "coord/client/lock.h"
#include "coord/client/session.h"

namespace {

// The protected resource. In a real system this is another service; it only
// needs to see the token with each request.
class Ledger {
 public:
  coord::Status Append(int64_t token, const std::string& entry) {
    std::lock_guard lock(mu_);
    coord::Status s = verifier_.Check(token);
    if (!s.ok()) return s;
    entries_.push_back(entry);
    return coord::Status::Ok();
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  std::mutex mu_;
  coord::FencingVerifier verifier_;
  std::vector<std::string> entries_;
};

int Fail(const std::string& what, const coord::Status& s) {
  std::fprintf(stderr, "lock_fencing: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoints = "127.0.0.1:7420";
  int workers = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--endpoints") == 0 && i + 1 < argc) {
      endpoints = argv[++i];
    } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      workers = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--endpoints H:P,...] [--workers N]\n", argv[0]);
      return 2;
    }
  }
  const std::string lock_name = "/examples/lock_fencing/" + std::to_string(::getpid());
  Ledger ledger;
  std::mutex out_mu;
  std::vector<std::thread> threads;
  std::vector<coord::Status> errors(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      coord::ClientOptions options;
      options.endpoints = endpoints;
      auto client = coord::Client::Create(options);
      if (!client.ok()) {
        errors[w] = client.status();
        return;
      }
      // The five lines an application needs: client, session, lock, guard, token.
      auto session = coord::Session::Create(**client, coord::Session::Options{});
      if (!session.ok()) {
        errors[w] = session.status();
        return;
      }
      coord::Lock lock(**session, lock_name);
      for (int round = 0; round < 3; ++round) {
        auto token = lock.Acquire(std::chrono::seconds(30));
        if (!token.ok()) {
          errors[w] = token.status();
          return;
        }
        const std::string entry = "worker " + std::to_string(w) + " round " +
                                  std::to_string(round) + " token " + std::to_string(*token);
        coord::Status s = ledger.Append(*token, entry);
        {
          std::lock_guard lock_out(out_mu);
          std::printf("%s: %s\n", entry.c_str(), s.ok() ? "written" : s.ToString().c_str());
        }
        if (!s.ok()) errors[w] = s;
        coord::Status r = lock.Release();
        if (!r.ok()) errors[w] = r;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (!e.ok()) return Fail("worker", e);
  }

  // A stale holder: it took the lock, then (say) paused; meanwhile its lock went
  // to someone else who wrote. Its late write must be refused.
  coord::ClientOptions options;
  options.endpoints = endpoints;
  auto client = coord::Client::Create(options);
  if (!client.ok()) return Fail("client", client.status());
  auto s1 = coord::Session::Create(**client, coord::Session::Options{});
  auto s2 = coord::Session::Create(**client, coord::Session::Options{});
  if (!s1.ok() || !s2.ok()) return Fail("session", s1.ok() ? s2.status() : s1.status());
  coord::Lock stale(**s1, lock_name);
  coord::Lock fresh(**s2, lock_name);
  auto old_token = stale.Acquire(std::chrono::seconds(10));
  if (!old_token.ok()) return Fail("acquire", old_token.status());
  if (coord::Status c = (*s1)->Close(); !c.ok()) return Fail("close", c);  // "lost"
  auto new_token = fresh.Acquire(std::chrono::seconds(10));
  if (!new_token.ok()) return Fail("acquire", new_token.status());
  if (coord::Status s = ledger.Append(*new_token, "new holder"); !s.ok()) return Fail("write", s);
  coord::Status late = ledger.Append(*old_token, "stale holder");
  if (late.code() != coord::StatusCode::kConflict) {
    return Fail("stale write was not refused", late);
  }
  std::printf("stale token %lld refused (%s)\n", static_cast<long long>(*old_token),
              late.message().c_str());
  std::printf("ledger has %zu entries\nok\n", ledger.size());
  return 0;
}
