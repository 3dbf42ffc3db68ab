// Shop inventory (eventual consistency): an order service publishes events, an
// inventory service consumes them into its own store, and a reconciler repairs
// what the events did not bring about.
//
//   coord_example_inventory orders --endpoints E --prefix P --count N [--items K] [--rate R]
//   coord_example_inventory serve  --endpoints E --prefix P --store DIR [--items K]
//                                  [--initial S] [--reconcile-ms M]
//   coord_example_inventory drift  --store DIR --order ID
//   coord_example_inventory check  --endpoints E --prefix P --store DIR [--items K] [--initial S]
//   coord_example_inventory demo   --endpoints E [--count N]
//
// orders: each order is placed with ONE outbox txn — the order key P/orders/ID
// ("<item> <qty>") and the event "OrderPlaced ID <item> <qty>" on the topic
// P/events/, guarded by "the order does not exist yet", so a retried or repeated
// placement publishes nothing twice.
//
// serve: the inventory service. A coord::Consumer (group "inventory") applies
// each event to a LevelDB StockStore, idempotently by order id, so a redelivered
// batch (after a kill -9 before the cursor commit) changes nothing. A
// coord::Reconciler compares the orders in Coord with the store's reservations
// every M ms (default 500): an order the store has applied past but holds no
// reservation for is reserved again, a reservation without an order released.
// Runs until SIGTERM / SIGINT.
//
// drift: a lost update in the store (service stopped): the order's reservation
// vanishes and its units come back. check: exit 0 iff every order has its
// reservation and stock = initial - ordered for every item. demo: all of it in
// one process with a temporary store, printing what happens.
//
// Exit 0 on success, 1 on failure or a broken invariant, 2 on bad arguments.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "coord/client/client.h"
#include "coord/client/consumer.h"
#include "coord/client/reconciler.h"
#include "coord/client/topic.h"
#include "stock_store.h"

namespace {

using namespace std::chrono_literals;
using inventory::Reservation;
using inventory::StockStore;

struct Args {
  std::string command;
  std::string endpoints = "127.0.0.1:7420";
  std::string prefix = "/shop";
  std::string store;
  std::string order;
  int count = 100;
  int items = 4;
  int64_t initial = 1000;
  double rate = 0;  // orders/s; 0 = as fast as possible
  int reconcile_ms = 500;
};

std::string OrderId(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "o%06d", i);
  return id;
}

std::string OrdersPrefix(const Args& a) { return a.prefix + "/orders/"; }
std::string EventsTopic(const Args& a) { return a.prefix + "/events/"; }

std::unique_ptr<coord::Client> Connect(const std::string& endpoints) {
  coord::ClientOptions o;
  o.endpoints = endpoints;
  auto c = coord::Client::Create(o);
  if (!c.ok()) {
    std::fprintf(stderr, "inventory: %s\n", c.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*c);
}

// ---- The order service ---------------------------------------------------------

// Places orders 1..count; returns false on an error other than "already placed".
bool PlaceOrders(coord::Client& client, const Args& a) {
  coord::Topic events(client, EventsTopic(a));
  int placed = 0;
  int64_t units = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= a.count; ++i) {
    if (a.rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::duration<double>(i / a.rate));
    }
    const std::string id = OrderId(i);
    const Reservation r{StockStore::ItemName(i % a.items), 1 + i % 3};
    coord::v1::TxnOp put;
    put.mutable_put()->set_key(OrdersPrefix(a) + id);
    put.mutable_put()->set_value(inventory::EncodeReservation(r));
    for (int attempt = 1;; ++attempt) {
      auto p = events.Publish("OrderPlaced " + id + " " + inventory::EncodeReservation(r),
                              {coord::Topic::Absent(OrdersPrefix(a) + id)}, {put});
      if (p.ok()) {
        ++placed;
        units += r.qty;
        break;
      }
      if (p.status().code() == coord::StatusCode::kConflict) break;  // placed before
      // kTimeout: maybe placed; the compare makes the retry safe.
      const bool retry = p.status().code() == coord::StatusCode::kTimeout ||
                         p.status().code() == coord::StatusCode::kUnavailable;
      if (!retry || attempt == 10) {
        std::fprintf(stderr, "inventory: order %s: %s\n", id.c_str(),
                     p.status().ToString().c_str());
        return false;
      }
    }
  }
  std::printf("placed %d orders (%lld units)\n", placed, static_cast<long long>(units));
  return true;
}

// ---- The inventory service -------------------------------------------------------

// Applies "OrderPlaced ID <item> <qty>" to the store.
coord::Status ApplyEvent(StockStore& store, const coord::v1::TopicRecord& record) {
  char id[32], item[64];
  long long qty = 0;
  if (std::sscanf(record.value().c_str(), "OrderPlaced %31s %63s %lld", id, item, &qty) != 3 ||
      qty <= 0) {
    return coord::Status::InvalidArgument("not an OrderPlaced event: " + record.value());
  }
  auto reserved = store.Reserve(id, {item, qty}, record.revision());
  return reserved.status();
}

// Every order in Coord (one linearizable prefix read).
auto ListOrders(coord::Client& client, const Args& a) {
  coord::v1::RangeRequest range;
  range.set_key(OrdersPrefix(a));
  range.set_prefix(true);
  return client.Range(range);
}

// One reconciliation: orders in Coord against reservations in the store.
coord::Reconciler::Report Reconcile(coord::Client& client, StockStore& store, const Args& a) {
  coord::Reconciler::Report report;
  // The store BEFORE the orders: every reservation seen has its order in the
  // list (orders come first), and every order created at or before `applied`
  // had its event applied by then.
  const int64_t applied = store.applied_revision();
  std::map<std::string, Reservation> held = store.Reservations();
  auto orders = ListOrders(client, a);
  if (!orders.ok()) {
    report.status = orders.status();
    return report;
  }
  int64_t checked = 0;
  for (const coord::v1::KeyValue& kv : orders->range.kvs()) {
    const std::string id = kv.key().substr(OrdersPrefix(a).size());
    held.erase(id);
    // Orders the consumer has not reached yet are its business, not drift.
    if (kv.create_revision() > applied) continue;
    ++checked;
    std::optional<Reservation> want = inventory::DecodeReservation(kv.value());
    if (!want) continue;
    auto r = store.Reserve(id, *want, 0);
    if (!r.ok()) {
      report.status = r.status();
      return report;
    }
    if (*r) ++report.repaired;
  }
  for (const auto& [id, r] : held) {  // reservations without an order
    auto released = store.Release(id);
    if (released.ok() && *released) ++report.repaired;
  }
  report.summary = std::to_string(checked) + " orders checked";
  return report;
}

struct Service {
  std::unique_ptr<coord::Consumer> consumer;
  std::unique_ptr<coord::Reconciler> reconciler;
};

coord::Result<Service> StartService(coord::Client& client, StockStore& store, const Args& a) {
  Service s;
  coord::Consumer::Options co;
  co.topic = EventsTopic(a);
  co.group = "inventory";
  co.session_ttl = 2s;
  auto consumer = coord::Consumer::Start(
      client, co, [&store](const coord::v1::TopicRecord& r) { return ApplyEvent(store, r); });
  if (!consumer.ok()) return consumer.status();
  s.consumer = std::move(*consumer);
  coord::Reconciler::Options ro;
  ro.name = "inventory" + a.prefix;
  ro.interval = std::chrono::milliseconds(a.reconcile_ms);
  ro.session_ttl = 2s;
  auto reconciler = coord::Reconciler::Start(client, ro, [&client, &store, a](int64_t) {
    coord::Reconciler::Report report = Reconcile(client, store, a);
    if (report.repaired > 0) {
      std::printf("reconciler: repaired %lld\n", static_cast<long long>(report.repaired));
      std::fflush(stdout);
    }
    return report;
  });
  if (!reconciler.ok()) return reconciler.status();
  s.reconciler = std::move(*reconciler);
  return s;
}

// ---- The invariant ----------------------------------------------------------------

bool Check(coord::Client& client, StockStore& store, const Args& a) {
  auto orders = ListOrders(client, a);
  if (!orders.ok()) {
    std::fprintf(stderr, "inventory: %s\n", orders.status().ToString().c_str());
    return false;
  }
  std::map<std::string, int64_t> want;
  for (int i = 0; i < a.items; ++i) want[StockStore::ItemName(i)] = a.initial;
  const std::map<std::string, Reservation> held = store.Reservations();
  bool ok = true;
  int64_t units = 0;
  for (const coord::v1::KeyValue& kv : orders->range.kvs()) {
    const std::string id = kv.key().substr(OrdersPrefix(a).size());
    std::optional<Reservation> r = inventory::DecodeReservation(kv.value());
    if (!r) continue;
    want[r->item] -= r->qty;
    units += r->qty;
    if (held.count(id) == 0) {
      std::printf("MISSING reservation of %s\n", id.c_str());
      ok = false;
    }
  }
  if (held.size() != static_cast<size_t>(orders->range.kvs_size())) {
    std::printf("MISMATCH %zu reservations for %d orders\n", held.size(), orders->range.kvs_size());
    ok = false;
  }
  for (const auto& [item, stock] : store.Stock()) {
    if (want[item] != stock) {
      std::printf("MISMATCH %s: stock %lld, expected %lld\n", item.c_str(),
                  static_cast<long long>(stock), static_cast<long long>(want[item]));
      ok = false;
    }
  }
  if (ok) {
    std::printf("stock exact: %lld units reserved for %d orders\n", static_cast<long long>(units),
                orders->range.kvs_size());
  }
  return ok;
}

// ---- Commands -------------------------------------------------------------------

std::unique_ptr<StockStore> OpenStore(const Args& a) {
  auto store = StockStore::Open(a.store, a.items, a.initial);
  if (!store.ok()) {
    std::fprintf(stderr, "inventory: %s\n", store.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*store);
}

int Serve(const Args& a) {
  // Block the stop signals before any thread starts; this thread waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto store = OpenStore(a);
  auto client = store ? Connect(a.endpoints) : nullptr;
  if (!client) return 1;
  auto service = StartService(*client, *store, a);
  if (!service.ok()) {
    std::fprintf(stderr, "inventory: %s\n", service.status().ToString().c_str());
    return 1;
  }
  std::printf("serving %s\n", EventsTopic(a).c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  const coord::Consumer::Stats st = service->consumer->stats();
  service->consumer->Stop();
  service->reconciler->Stop();
  std::printf("stopped: delivered %llu, cursor %lld\n",
              static_cast<unsigned long long>(st.delivered), static_cast<long long>(st.cursor));
  return 0;
}

int Drift(const Args& a) {
  auto store = OpenStore(a);
  if (!store) return 1;
  auto released = store->Release(a.order);
  if (!released.ok() || !*released) {
    std::fprintf(stderr, "inventory: order %s holds no reservation\n", a.order.c_str());
    return 1;
  }
  std::printf("drift: the reservation of %s is lost\n", a.order.c_str());
  return 0;
}

int Demo(Args a) {
  char dir[] = "/tmp/coord-inventory-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  a.store = dir;
  a.prefix += "-demo-" + std::to_string(::getpid());
  auto store = OpenStore(a);
  auto client = store ? Connect(a.endpoints) : nullptr;
  if (!client) return 1;
  auto service = StartService(*client, *store, a);
  if (!service.ok() || !PlaceOrders(*client, a)) return 1;
  coord::Topic events(*client, EventsTopic(a));
  if (!service->consumer->WaitCommitted(*events.Head(), 30s)) {
    std::fprintf(stderr, "inventory: the consumer did not catch up\n");
    return 1;
  }
  std::printf("consumed: lag %lld\n", static_cast<long long>(*events.Lag("inventory")));
  (void)store->Release(OrderId(1));
  std::printf("drift: the reservation of %s is lost\n", OrderId(1).c_str());
  // A pass that starts after the drift repairs it.
  const uint64_t passes = service->reconciler->stats().passes;
  service->reconciler->RunNow();
  service->reconciler->WaitPasses(passes + 1, 30s);
  std::printf("reconciler status: %s\n", service->reconciler->stats().published.c_str());
  const bool exact = Check(*client, *store, a);
  service->consumer->Stop();
  service->reconciler->Stop();
  store.reset();
  std::filesystem::remove_all(dir);
  std::printf(exact ? "ok\n" : "FAILED\n");
  return exact ? 0 : 1;
}

bool Parse(int argc, char** argv, Args* a) {
  if (argc < 2) return false;
  a->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (flag == "--endpoints") a->endpoints = v;
    else if (flag == "--prefix") a->prefix = v;
    else if (flag == "--store") a->store = v;
    else if (flag == "--order") a->order = v;
    else if (flag == "--count") a->count = std::atoi(v);
    else if (flag == "--items") a->items = std::atoi(v);
    else if (flag == "--initial") a->initial = std::atoll(v);
    else if (flag == "--rate") a->rate = std::atof(v);
    else if (flag == "--reconcile-ms") a->reconcile_ms = std::atoi(v);
    else return false;
  }
  if (a->count < 1 || a->items < 1 || a->reconcile_ms < 1 || a->prefix.empty()) return false;
  const bool needs_store = a->command == "serve" || a->command == "drift" || a->command == "check";
  return !(needs_store && a->store.empty()) && !(a->command == "drift" && a->order.empty());
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: coord_example_inventory orders|serve|drift|check|demo [--endpoints E] "
                 "[--prefix P] [--store DIR] [--order ID] [--count N] [--items K] [--initial S] "
                 "[--rate R] [--reconcile-ms M]\n");
    return 2;
  }
  if (a.command == "serve") return Serve(a);
  if (a.command == "drift") return Drift(a);
  if (a.command == "demo") return Demo(a);
  if (a.command == "orders") {
    auto client = Connect(a.endpoints);
    return client && PlaceOrders(*client, a) ? 0 : 1;
  }
  if (a.command == "check") {
    auto store = OpenStore(a);
    auto client = store ? Connect(a.endpoints) : nullptr;
    return client && Check(*client, *store, a) ? 0 : 1;
  }
  std::fprintf(stderr, "inventory: unknown command %s\n", a.command.c_str());
  return 2;
}
