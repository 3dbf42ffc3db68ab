// Model check of the history window: a randomized log of puts, deletes and txns is
// applied both to the state machine and to a naive model that copies the whole key
// space at every revision. Reads at every revision in the window, and the events
// replayed on top of the model at the compacted revision, must agree.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

using Model = std::map<std::string, std::string>;

TEST(ModelTest, PastReadsAndEventsMatchANaiveModel) {
  StateMachineOptions o;
  o.history_revisions = 25;
  Driver d(o);
  std::vector<Model> at{Model()};  // at[r] = key space at revision r
  std::mt19937_64 rng(7);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  auto key = [&] { return "/m/" + std::to_string(pick(15)); };

  for (int step = 0; step < 1500; ++step) {
    Model next = at.back();
    Command c;
    switch (pick(4)) {
      case 0:
      case 1: {
        std::string k = key();
        std::string v = "v" + std::to_string(step);
        c = PutCmd(k, v);
        next[k] = v;
        break;
      }
      case 2: {
        std::string k = key();
        bool prefix = pick(8) == 0;
        c = DeleteCmd(prefix ? "/m/1" : k, prefix);
        for (auto it = next.begin(); it != next.end();) {
          bool hit = prefix ? it->first.rfind("/m/1", 0) == 0 : it->first == k;
          it = hit ? next.erase(it) : std::next(it);
        }
        break;
      }
      case 3: {  // a two-key txn
        std::string a = key();
        std::string b = key();
        if (a == b) continue;
        pb::TxnRequest* t = c.mutable_txn();
        t->add_success()->mutable_put()->set_key(a);
        t->mutable_success(0)->mutable_put()->set_value("t" + std::to_string(step));
        t->add_success()->mutable_delete_()->set_key(b);
        next[a] = "t" + std::to_string(step);
        next.erase(b);
        break;
      }
    }
    ApplyResult r = d.Apply(c);
    ASSERT_EQ(r.response.error().code(), pb::OK) << r.response.error().message();
    if (d.sm.revision() == static_cast<int64_t>(at.size())) {
      at.push_back(next);
    } else {
      ASSERT_EQ(d.sm.revision(), static_cast<int64_t>(at.size()) - 1);
      ASSERT_EQ(next, at.back()) << "a command that changed the model made no revision";
    }

    if (step % 50 != 49) continue;
    const int64_t head = d.sm.revision();
    const int64_t compacted = d.sm.compacted_revision();
    ASSERT_EQ(compacted, std::max<int64_t>(0, head - o.history_revisions));
    for (int64_t rev = compacted + 1; rev <= head; ++rev) {
      pb::Response got = d.sm.Range(RangeReq("/m/", true, rev));
      ASSERT_EQ(got.error().code(), pb::OK);
      Model seen;
      for (const pb::KeyValue& kv : got.range().kvs()) seen[kv.key()] = kv.value();
      ASSERT_EQ(seen, at[static_cast<size_t>(rev)]) << "revision " << rev;
    }
    if (compacted > 0) {
      EXPECT_EQ(d.sm.Range(RangeReq("/m/", true, compacted)).error().code(), pb::COMPACTED);
    }
    // Replaying the event log on the model at the compacted revision gives the head.
    Model replay = at[static_cast<size_t>(compacted)];
    Result<EventBatch> events = d.sm.EventsSince(compacted + 1, "/m/", "", true, 0);
    ASSERT_TRUE(events.ok());
    int64_t last_revision = compacted;
    for (const StateEvent& e : events->events) {
      ASSERT_GE(e.revision, last_revision);
      ASSERT_LE(e.revision, last_revision + 1) << "a gap in the event log";
      last_revision = e.revision;
      const std::string& k = e.event.kv().key();
      // prev_kv is exactly the model's value before this event's revision.
      const Model& before = at[static_cast<size_t>(e.revision - 1)];
      auto prev = before.find(k);
      ASSERT_EQ(e.event.has_prev_kv(), prev != before.end()) << k << "@" << e.revision;
      if (prev != before.end()) {
        ASSERT_EQ(e.event.prev_kv().value(), prev->second);
      }
      if (e.event.type() == pb::Event::PUT) {
        replay[k] = e.event.kv().value();
      } else {
        replay.erase(k);
      }
    }
    ASSERT_EQ(last_revision, head);
    ASSERT_EQ(replay, at.back());
  }
  EXPECT_GT(d.sm.revision(), 1000);
}

}  // namespace
}  // namespace coord::server::testing
