// Bank transfers (strong consistency): two banks, each a separate process with
// its own durable ledger, move money between them with two-phase commit run by
// the Coord ensemble. Every transfer is applied on both sides or on neither, and
// money is conserved, whatever process dies when.
//
//   coord_example_bank_transfer account   --endpoints E --name N --store DIR
//                                         [--accounts K] [--initial S]
//                                         [--crash-at before-prepare|prepared|committed --crash-after M]
//   coord_example_bank_transfer transfers --endpoints E --banks N1,N2 [--count C]
//                                         [--concurrency T] [--accounts K] [--txn-timeout-ms X]
//   coord_example_bank_transfer check     --stores DIR1,DIR2 [--accounts K] [--initial S]
//   coord_example_bank_transfer demo      --endpoints E [--count C]
//
// account: bank N as a coord::Participant over an AccountStore (account_store.h):
// prepare takes a debit out of the balance durably and votes YES (NO when the
// funds are short), commit applies the credit, abort returns the debit — each
// idempotent by transaction id, so the recovery after a restart can repeat them.
// --crash-at kills the process itself (SIGKILL) at the M-th such step: before a
// prepare is written, after it is written but before the vote, or after a commit
// is applied but before its acknowledgement. Runs until SIGTERM / SIGINT.
//
// transfers: T threads begin C transfers in all (random accounts and direction,
// 1..50 units) with coord::Transaction and await each decision; prints
// "transfers: <c> committed, <a> aborted, <u> unknown".
//
// check (banks stopped): exit 0 iff the total is 2 * K * S, no transfer is held
// (in doubt), and both ledgers decided the same transfers the same way. demo:
// both banks in one process with temporary ledgers, the transfers, the check.
//
// Exit 0 on success, 1 on failure or a broken invariant, 2 on bad arguments.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "account_store.h"
#include "coord/client/client.h"
#include "coord/client/participant.h"
#include "coord/client/transaction.h"

namespace {

using namespace std::chrono_literals;
using bank::AccountStore;
using bank::Leg;

struct Args {
  std::string command;
  std::string endpoints = "127.0.0.1:7420";
  std::string name;
  std::string store;
  std::vector<std::string> banks;
  std::vector<std::string> stores;
  int accounts = 10;
  int64_t initial = 1000;
  int count = 200;
  int concurrency = 8;
  int txn_timeout_ms = 3000;
  std::string crash_at;
  int crash_after = 0;
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::unique_ptr<coord::Client> Connect(const std::string& endpoints) {
  coord::ClientOptions o;
  o.endpoints = endpoints;
  auto c = coord::Client::Create(o);
  if (!c.ok()) {
    std::fprintf(stderr, "bank: %s\n", c.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*c);
}

// "debit <bank> <account> credit <bank> <account> amount <n>" -> this bank's leg.
std::optional<Leg> LegOf(const std::string& payload, const std::string& bank) {
  std::istringstream in(payload);
  std::string w1, debit_bank, debit_account, w2, credit_bank, credit_account, w3;
  int64_t amount = 0;
  if (!(in >> w1 >> debit_bank >> debit_account >> w2 >> credit_bank >> credit_account >> w3 >>
        amount) ||
      amount <= 0) {
    return std::nullopt;
  }
  if (bank == debit_bank) return Leg{debit_account, -amount};
  if (bank == credit_bank) return Leg{credit_account, amount};
  return std::nullopt;
}

// ---- A bank --------------------------------------------------------------------

// Kills this process at the crash_after-th step of kind crash_at.
class CrashPoint {
 public:
  CrashPoint(std::string at, int after) : at_(std::move(at)), after_(after) {}
  void Reached(const char* step) {
    if (at_ == step && ++seen_ == after_) {
      std::printf("crashing at %s %d\n", step, seen_);
      std::fflush(stdout);
      raise(SIGKILL);
    }
  }

 private:
  const std::string at_;
  const int after_;
  int seen_ = 0;  // the participant's callbacks run one at a time
};

// Serves bank `name` over `store` as a 2PC participant (crash: see --crash-at).
coord::Result<std::unique_ptr<coord::Participant>> StartBank(coord::Client& client,
                                                             const std::string& name,
                                                             AccountStore& store,
                                                             CrashPoint& crash) {
  coord::Participant::Handlers h;
  h.prepare = [&store, &crash, name](uint64_t txn, const std::string& payload) {
    std::optional<Leg> leg = LegOf(payload, name);
    if (!leg) return false;  // not a transfer this bank understands: NO
    crash.Reached("before-prepare");
    auto vote = store.Prepare(txn, *leg);
    crash.Reached("prepared");
    return vote.ok() && *vote;
  };
  h.commit = [&store, &crash](uint64_t txn) {
    // An error here is an I/O failure of the ledger: stop rather than ack it.
    if (!store.Commit(txn).ok()) std::abort();
    crash.Reached("committed");
  };
  h.abort = [&store](uint64_t txn, const std::string&) {
    if (!store.Abort(txn).ok()) std::abort();
  };
  return coord::Participant::Start(client, name, h, 10s);
}

int Account(const Args& a) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto store = AccountStore::Open(a.store, a.accounts, a.initial);
  if (!store.ok()) {
    std::fprintf(stderr, "bank: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto client = Connect(a.endpoints);
  if (!client) return 1;
  CrashPoint crash(a.crash_at, a.crash_after);
  auto participant = StartBank(*client, a.name, **store, crash);
  if (!participant.ok()) {
    std::fprintf(stderr, "bank: %s\n", participant.status().ToString().c_str());
    return 1;
  }
  std::printf("bank %s ready\n", a.name.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  (*participant)->Stop();
  return 0;
}

// ---- The transfers -------------------------------------------------------------------

// Runs the transfers; prints and returns the number with an unknown outcome.
int RunTransfers(coord::Client& client, const Args& a) {
  std::atomic<int> next{0}, committed{0}, aborted{0}, unknown{0};
  auto work = [&](int seed) {
    std::mt19937 rng(seed);
    while (next.fetch_add(1) < a.count) {
      const bool a_to_b = rng() % 2 == 0;
      const std::string& from = a.banks[a_to_b ? 0 : 1];
      const std::string& to = a.banks[a_to_b ? 1 : 0];
      const std::string payload =
          "debit " + from + " " + AccountStore::AccountName(static_cast<int>(rng() % a.accounts)) +
          " credit " + to + " " + AccountStore::AccountName(static_cast<int>(rng() % a.accounts)) +
          " amount " + std::to_string(1 + rng() % 50);
      auto txn = coord::Transaction::Begin(client, a.banks, payload,
                                           std::chrono::milliseconds(a.txn_timeout_ms), 10s);
      if (!txn.ok()) {
        ++unknown;
        std::fprintf(stderr, "bank: begin: %s\n", txn.status().ToString().c_str());
        continue;
      }
      auto outcome = (*txn)->Await(60s);
      if (!outcome.ok()) {
        ++unknown;
        std::fprintf(stderr, "bank: await %llu: %s\n",
                     static_cast<unsigned long long>((*txn)->id()),
                     outcome.status().ToString().c_str());
      } else if (outcome->state == coord::v1::TPC_COMMITTED) {
        ++committed;
      } else {
        ++aborted;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < a.concurrency; ++i) threads.emplace_back(work, 1000 + i);
  for (auto& t : threads) t.join();
  std::printf("transfers: %d committed, %d aborted, %d unknown\n", committed.load(),
              aborted.load(), unknown.load());
  return unknown.load();
}

int Transfers(const Args& a) {
  auto client = Connect(a.endpoints);
  return client && RunTransfers(*client, a) == 0 ? 0 : 1;
}

// ---- The invariant ----------------------------------------------------------------

// The invariant over both ledgers' summaries; prints the verdict.
bool Conserved(const std::vector<AccountStore::Summary>& s, const Args& a) {
  bool ok = true;
  const int64_t total = s[0].total + s[1].total;
  const int64_t want = 2 * a.accounts * a.initial;
  if (total != want) {
    std::printf("MONEY NOT CONSERVED: total %lld, expected %lld\n", static_cast<long long>(total),
                static_cast<long long>(want));
    ok = false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    for (const auto& [txn, leg] : s[i].held) {
      std::printf("IN DOUBT: transfer %llu held by bank %zu\n", static_cast<unsigned long long>(txn),
                  i + 1);
      ok = false;
    }
  }
  int both_committed = 0;
  for (size_t i = 0; i < 2; ++i) {
    const auto& mine = s[i].decided;
    const auto& other = s[1 - i].decided;
    for (const auto& [txn, outcome] : mine) {
      auto it = other.find(txn);
      const char theirs = it == other.end() ? 'A' : it->second;  // never prepared: aborted
      if (outcome != theirs) {
        std::printf("SPLIT: transfer %llu is %c in bank %zu and %c in the other\n",
                    static_cast<unsigned long long>(txn), outcome, i + 1, theirs);
        ok = false;
      }
      if (i == 0 && outcome == 'C') ++both_committed;
    }
  }
  if (ok) {
    std::printf("money conserved: %lld; %d transfers committed on both sides, none split, none "
                "in doubt\n",
                static_cast<long long>(total), both_committed);
  }
  return ok;
}

int Check(const Args& a) {
  std::vector<AccountStore::Summary> s;
  for (const std::string& dir : a.stores) {
    auto store = AccountStore::Open(dir, a.accounts, a.initial, /*create=*/false);
    if (!store.ok()) {
      std::fprintf(stderr, "bank: %s\n", store.status().ToString().c_str());
      return 1;
    }
    s.push_back((*store)->Summarize());
  }
  return Conserved(s, a) ? 0 : 1;
}

// Both banks in this process, each with its own client and temporary ledger.
int Demo(Args a) {
  char dir[] = "/tmp/coord-bank-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  const std::string run = std::to_string(::getpid());
  a.banks = {"demo-bank-a-" + run, "demo-bank-b-" + run};
  std::vector<std::unique_ptr<AccountStore>> stores;
  std::vector<std::unique_ptr<coord::Client>> clients;
  std::vector<std::unique_ptr<coord::Participant>> banks;
  CrashPoint never("", 0);
  for (int i = 0; i < 2; ++i) {
    auto store = AccountStore::Open(std::string(dir) + "/" + a.banks[i], a.accounts, a.initial);
    auto client = store.ok() ? Connect(a.endpoints) : nullptr;
    if (!client) return 1;
    auto bank = StartBank(*client, a.banks[i], **store, never);
    if (!bank.ok()) {
      std::fprintf(stderr, "bank: %s\n", bank.status().ToString().c_str());
      return 1;
    }
    stores.push_back(std::move(*store));
    clients.push_back(std::move(client));
    banks.push_back(std::move(*bank));
  }
  if (RunTransfers(*clients[0], a) != 0) return 1;
  // Every decision was awaited; the banks apply them as they arrive. Wait (up
  // to 30 s) until neither owes the ensemble an acknowledgement.
  auto owes = [&](const std::string& name) {
    coord::v1::Request r;
    r.mutable_tpc_list()->set_participant(name);
    auto reply = clients[0]->Call(r);
    return !reply.ok() || reply->tpc_list().txns_size() > 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((owes(a.banks[0]) || owes(a.banks[1])) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  for (auto& bank : banks) bank->Stop();
  std::vector<AccountStore::Summary> s = {stores[0]->Summarize(), stores[1]->Summarize()};
  const bool ok = Conserved(s, a);
  stores.clear();
  std::filesystem::remove_all(dir);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}

bool Parse(int argc, char** argv, Args* a) {
  if (argc < 2) return false;
  a->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (flag == "--endpoints") a->endpoints = v;
    else if (flag == "--name") a->name = v;
    else if (flag == "--store") a->store = v;
    else if (flag == "--banks") a->banks = SplitCommas(v);
    else if (flag == "--stores") a->stores = SplitCommas(v);
    else if (flag == "--accounts") a->accounts = std::atoi(v);
    else if (flag == "--initial") a->initial = std::atoll(v);
    else if (flag == "--count") a->count = std::atoi(v);
    else if (flag == "--concurrency") a->concurrency = std::atoi(v);
    else if (flag == "--txn-timeout-ms") a->txn_timeout_ms = std::atoi(v);
    else if (flag == "--crash-at") a->crash_at = v;
    else if (flag == "--crash-after") a->crash_after = std::atoi(v);
    else return false;
  }
  if (a->accounts < 1 || a->initial < 0 || a->count < 1 || a->concurrency < 1) return false;
  if (!a->crash_at.empty() && a->crash_at != "before-prepare" && a->crash_at != "prepared" &&
      a->crash_at != "committed") {
    return false;
  }
  if (a->command == "account") return !a->name.empty() && !a->store.empty();
  if (a->command == "transfers") return a->banks.size() == 2 && a->banks[0] != a->banks[1];
  if (a->command == "check") return a->stores.size() == 2;
  return a->command == "demo";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: coord_example_bank_transfer account|transfers|check|demo [--endpoints E] "
                 "[--name N --store DIR] [--banks N1,N2] [--stores D1,D2] [--accounts K] "
                 "[--initial S] [--count C] [--concurrency T] [--txn-timeout-ms X] "
                 "[--crash-at before-prepare|prepared|committed --crash-after M]\n");
    return 2;
  }
  if (a.command == "account") return Account(a);
  if (a.command == "transfers") return Transfers(a);
  if (a.command == "demo") return Demo(a);
  return Check(a);
}
