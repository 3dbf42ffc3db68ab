// event-bench: what the event layer (topic.h, consumer.h) costs on a running
// ensemble.
//
//   event_bench --endpoints H:P,... [--backlog N] [--batch B] [--rate R] [--seconds S]
//
// 1. Consumer throughput: N events are appended up front (100 per txn), then one
//    Consumer (batch B) drains them from the oldest; events/s = N / time until its
//    cursor passed the last one (reads, handler calls, cursor commits included).
// 2. End-to-end lag: one publisher publishes R events/s for S seconds, each
//    carrying its publish time (steady clock, same process); the running
//    consumer's handler records now - that time. Prints p50/p99/max.
// Output: one line per figure. Exit 0 on success, 1 on failure, 2 on bad arguments.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/client/client.h"
#include "coord/client/consumer.h"
#include "coord/client/topic.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Args {
  std::string endpoints = "127.0.0.1:7420";
  int backlog = 50'000;
  int batch = 1000;
  double rate = 500;
  double seconds = 5;
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    const char* v = argv[i + 1];
    if (f == "--endpoints") a->endpoints = v;
    else if (f == "--backlog") a->backlog = std::atoi(v);
    else if (f == "--batch") a->batch = std::atoi(v);
    else if (f == "--rate") a->rate = std::atof(v);
    else if (f == "--seconds") a->seconds = std::atof(v);
    else return false;
  }
  return argc % 2 == 1 && a->backlog > 0 && a->batch > 0 && a->rate > 0 && a->seconds > 0;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Appends `count` events of about 100 bytes, 100 per txn.
bool Fill(coord::Client& client, const std::string& topic, int count) {
  const std::string payload(90, 'x');
  for (int done = 0; done < count;) {
    coord::v1::TxnRequest txn;
    for (int i = 0; i < 100 && done < count; ++i, ++done) {
      auto* a = txn.add_success()->mutable_append();
      a->set_topic(topic);
      a->set_value("0 " + payload);
    }
    auto r = client.Txn(txn);
    if (!r.ok()) {
      std::fprintf(stderr, "event_bench: fill: %s\n", r.status().ToString().c_str());
      return false;
    }
  }
  return true;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: event_bench [--endpoints E] [--backlog N] [--batch B] [--rate R] "
                 "[--seconds S]\n");
    return 2;
  }
  coord::ClientOptions co;
  co.endpoints = a.endpoints;
  auto client = coord::Client::Create(co);
  if (!client.ok()) return 1;
  const std::string topic = "/bench/events-" + std::to_string(NowNs()) + "/";
  coord::Topic t(**client, topic);

  // 1. Throughput over a backlog.
  if (!Fill(**client, topic, a.backlog)) return 1;
  std::mutex mu;
  std::vector<double> lag_ms;
  std::atomic<bool> measuring{false};
  coord::Consumer::Options o;
  o.topic = topic;
  o.group = "bench";
  o.batch_size = a.batch;
  const auto start = Clock::now();
  auto consumer = coord::Consumer::Start(**client, o, [&](const coord::v1::TopicRecord& r) {
    if (measuring.load(std::memory_order_relaxed)) {
      const int64_t sent = std::atoll(r.value().c_str());
      std::lock_guard lock(mu);
      lag_ms.push_back(static_cast<double>(NowNs() - sent) / 1e6);
    }
    return coord::Status::Ok();
  });
  if (!consumer.ok() || !(*consumer)->WaitCommitted(a.backlog, 300s)) {
    std::fprintf(stderr, "event_bench: the consumer did not drain the backlog\n");
    return 1;
  }
  const double drain_s = std::chrono::duration<double>(Clock::now() - start).count();
  const coord::Consumer::Stats st = (*consumer)->stats();
  std::printf("consumer throughput: %.0f events/s (%d events, batch %d, %llu commits, %.2f s)\n",
              a.backlog / drain_s, a.backlog, a.batch,
              static_cast<unsigned long long>(st.batches), drain_s);

  // 2. End-to-end lag at a steady rate.
  measuring = true;
  const int total = static_cast<int>(a.rate * a.seconds);
  const auto begin = Clock::now();
  int64_t last = 0;
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(begin + std::chrono::duration<double>(i / a.rate));
    auto p = t.Publish(std::to_string(NowNs()));
    if (!p.ok()) {
      std::fprintf(stderr, "event_bench: publish: %s\n", p.status().ToString().c_str());
      return 1;
    }
    last = p->offset;
  }
  if (!(*consumer)->WaitCommitted(last, 60s)) return 1;
  (*consumer)->Stop();
  std::vector<double> samples;
  {
    std::lock_guard lock(mu);
    samples = lag_ms;
  }
  const double achieved = total / std::chrono::duration<double>(Clock::now() - begin).count();
  std::printf(
      "end-to-end lag at %.0f events/s (%zu events): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      std::min(a.rate, achieved), samples.size(), Percentile(samples, 0.5),
      Percentile(samples, 0.99), Percentile(samples, 1.0));
  // Leave nothing behind: everything was consumed.
  auto trimmed = t.Trim();
  std::printf("trimmed after the run: %lld records\n",
              static_cast<long long>(trimmed.ok() ? *trimmed : -1));
  return 0;
}
