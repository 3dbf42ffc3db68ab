// Event propagation on a real ensemble: publishing through the outbox (a stale
// writer publishes nothing), consumer groups (in-order at-least-once delivery,
// durable cursor, one active instance, takeover without a skipped record, a
// deposed instance fenced, dead letters after N failures), retention below the
// slowest group, and a reconciler led by one instance with its status visible.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "coord/client/consumer.h"
#include "coord/client/reconciler.h"
#include "coord/client/topic.h"
#include "env.h"

namespace coord::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// What a handler saw, in order.
struct Seen {
  std::mutex mu;
  std::vector<int64_t> offsets;
  std::vector<std::string> values;
  void Add(const coord::v1::TopicRecord& r) {
    std::lock_guard lock(mu);
    offsets.push_back(r.offset());
    values.push_back(r.value());
  }
  std::set<int64_t> Distinct() {
    std::lock_guard lock(mu);
    return {offsets.begin(), offsets.end()};
  }
  size_t size() {
    std::lock_guard lock(mu);
    return offsets.size();
  }
};

Consumer::Options FastOptions(const std::string& topic, const std::string& group) {
  Consumer::Options o;
  o.topic = topic;
  o.group = group;
  o.batch_size = 7;
  o.session_ttl = milliseconds(1500);
  o.retry_initial = milliseconds(5);
  o.retry_max = milliseconds(20);
  o.poll_interval = milliseconds(200);
  return o;
}

void PublishN(Topic& topic, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    ASSERT_TRUE(topic.Publish("e" + std::to_string(i)).ok()) << i;
  }
}

TEST(ClientEvents, PublishCommitsStateAndEventTogetherAndAStaleWriterPublishesNothing) {
  auto client = NewClient();
  const std::string base = Fresh("/ev/publish");
  Topic topic(*client, base + "/events/");
  const std::string order = base + "/orders/1";
  coord::v1::TxnOp put;
  put.mutable_put()->set_key(order);
  put.mutable_put()->set_value("placed");
  auto first = topic.Publish("OrderPlaced 1", {Topic::Absent(order)}, {put});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->offset, 1);
  auto kv = client->Get(order);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->mod_revision(), first->revision) << "state and event at one revision";

  // A second writer that also believes the order is new loses, and writes nothing.
  put.mutable_put()->set_value("placed twice");
  auto stale = topic.Publish("OrderPlaced 1 again", {Topic::Absent(order)}, {put});
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  EXPECT_EQ((*client->Get(order))->value(), "placed");
  auto read = topic.Read(0, 0);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records_size(), 1);
  EXPECT_EQ(read->records(0).value(), "OrderPlaced 1");
  EXPECT_EQ(*topic.Head(), 1);

  // A guarded update by mod_revision.
  put.mutable_put()->set_value("paid");
  EXPECT_TRUE(topic.Publish("OrderPaid 1", {Topic::ModRevisionIs(order, first->revision)}, {put}).ok());
  EXPECT_EQ(topic.Publish("OrderPaid 1", {Topic::ModRevisionIs(order, first->revision)}, {put})
                .status()
                .code(),
            StatusCode::kConflict);
  EXPECT_EQ(*topic.Head(), 2);
}

TEST(ClientEvents, ConsumerDeliversInOrderCommitsItsCursorAndResumesFromIt) {
  auto client = NewClient();
  Topic topic(*client, Fresh("/ev/order") + "/");
  PublishN(topic, 1, 30);
  Seen seen;
  auto consumer = Consumer::Start(*client, FastOptions(topic.name(), "g"),
                                  [&](const coord::v1::TopicRecord& r) {
                                    seen.Add(r);
                                    return Status::Ok();
                                  });
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  ASSERT_TRUE((*consumer)->WaitCommitted(30, seconds(10))) << (*consumer)->stats().last_error.ToString();
  {
    std::lock_guard lock(seen.mu);
    ASSERT_EQ(seen.offsets.size(), 30u);
    for (int i = 0; i < 30; ++i) EXPECT_EQ(seen.offsets[i], i + 1) << "offset order";
  }
  EXPECT_EQ(*topic.Cursor("g"), 31);
  EXPECT_EQ(*topic.Lag("g"), 0);
  const Consumer::Stats st = (*consumer)->stats();
  EXPECT_TRUE(st.active);
  EXPECT_GE(st.batches, 5u) << "30 records in batches of 7";
  EXPECT_EQ(st.lag, 0);

  // New events reach the running consumer (woken by its watch).
  PublishN(topic, 31, 5);
  EXPECT_TRUE((*consumer)->WaitCommitted(35, seconds(10)));
  (*consumer)->Stop();

  // Published while no instance runs: lag shows them; a new instance resumes
  // from the cursor, not from the start.
  PublishN(topic, 36, 3);
  EXPECT_EQ(*topic.Lag("g"), 3);
  Seen later;
  auto again = Consumer::Start(*client, FastOptions(topic.name(), "g"),
                               [&](const coord::v1::TopicRecord& r) {
                                 later.Add(r);
                                 return Status::Ok();
                               });
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->WaitCommitted(38, seconds(10)));
  EXPECT_EQ(later.Distinct(), (std::set<int64_t>{36, 37, 38}));
}

TEST(ClientEvents, OneActiveInstanceAndTheStandbyTakesOverWithoutASkippedRecord) {
  auto c1 = NewClient();
  auto c2 = NewClient();
  Topic topic(*c1, Fresh("/ev/takeover") + "/");
  PublishN(topic, 1, 20);
  Seen seen;
  std::atomic<int> in_handler{0};
  std::atomic<bool> overlap{false};
  auto handler = [&](const coord::v1::TopicRecord& r) {
    if (in_handler.fetch_add(1) != 0) overlap = true;
    seen.Add(r);
    std::this_thread::sleep_for(milliseconds(2));  // make overlap observable if it existed
    in_handler.fetch_sub(1);
    return Status::Ok();
  };
  auto a = Consumer::Start(*c1, FastOptions(topic.name(), "g"), handler);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->WaitActive(seconds(10)));
  auto b = Consumer::Start(*c2, FastOptions(topic.name(), "g"), handler);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->WaitCommitted(20, seconds(10)));
  EXPECT_FALSE((*b)->stats().active) << "the standby waits";
  EXPECT_EQ((*b)->stats().delivered, 0u);

  // The active instance's process dies: its connection is gone for good, its
  // session expires, and the standby's lock wait is granted.
  c1->TEST_StallIo(true);
  PublishN(*std::make_unique<Topic>(*c2, topic.name()), 21, 10);
  ASSERT_TRUE((*b)->WaitActive(seconds(15))) << "takeover after the session TTL";
  ASSERT_TRUE((*b)->WaitCommitted(30, seconds(10)));
  EXPECT_GT((*b)->stats().token, (*a)->stats().token) << "a newer fencing token";
  std::set<int64_t> want;
  for (int i = 1; i <= 30; ++i) want.insert(i);
  EXPECT_EQ(seen.Distinct(), want) << "every record delivered, none skipped";
  EXPECT_FALSE(overlap) << "never two instances in the handler at once";

  // The old instance comes back: its lock is gone, it cannot move the cursor.
  c1->TEST_StallIo(false);
  Topic t2(*c2, topic.name());
  EXPECT_TRUE(WaitFor([&] { return !(*a)->stats().active; }, seconds(10)));
  EXPECT_EQ(*t2.Cursor("g"), 31);
  a->reset();
  b->reset();
}

// The case the cursor compare alone would miss: the new instance has read the
// same cursor and is still handling the batch when the deposed one commits.
TEST(ClientEvents, ADeposedInstanceFinishingItsBatchCannotMoveTheCursor) {
  auto c1 = NewClient();
  auto c2 = NewClient();
  Topic topic(*c2, Fresh("/ev/fenced") + "/");
  std::atomic<bool> a_in_batch{false}, a_release{false}, b_in_batch{false};
  auto a = Consumer::Start(*c1, FastOptions(topic.name(), "g"), [&](const coord::v1::TopicRecord&) {
    a_in_batch = true;
    // The instance "pauses" in its handler across the loss of its lock.
    WaitFor([&] { return a_release.load(); }, seconds(30));
    return Status::Ok();
  });
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->WaitActive(seconds(10)));
  auto b = Consumer::Start(*c2, FastOptions(topic.name(), "g"), [&](const coord::v1::TopicRecord&) {
    b_in_batch = true;
    // Still handling e1 (cursor not moved) while the deposed instance commits.
    WaitFor([&] { return (*a)->stats().fenced_commits > 0; }, seconds(30));
    return Status::Ok();
  });
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(topic.Publish("e1").ok());
  ASSERT_TRUE(WaitFor([&] { return a_in_batch.load(); }, seconds(10)));

  // a's keepalives stop; its session expires; b takes over and starts on e1.
  c1->TEST_StallIo(true);
  ASSERT_TRUE(WaitFor([&] { return b_in_batch.load(); }, seconds(15)));
  EXPECT_EQ(*topic.Cursor("g"), 0) << "nobody committed yet";

  // a wakes up, finishes e1 and commits "no cursor -> 2": the cursor compare
  // would pass, the fencing token does not.
  c1->TEST_StallIo(false);
  a_release = true;
  EXPECT_TRUE(WaitFor([&] { return (*a)->stats().fenced_commits == 1; }, seconds(15)))
      << (*a)->stats().last_error.ToString();
  EXPECT_EQ((*a)->stats().last_error.code(), StatusCode::kConflict);
  ASSERT_TRUE((*b)->WaitCommitted(1, seconds(10)));
  EXPECT_EQ(*topic.Cursor("g"), 2);
  EXPECT_EQ((*a)->stats().batches, 0u) << "the deposed instance never moved the cursor";
  EXPECT_EQ((*b)->stats().batches, 1u);
  b->reset();
  a->reset();
}

TEST(ClientEvents, AFailingRecordIsRetriedThenDeadLetteredWithTheCursorMove) {
  auto client = NewClient();
  Topic topic(*client, Fresh("/ev/dead") + "/");
  PublishN(topic, 1, 5);
  std::atomic<int> attempts_of_3{0};
  Seen seen;
  Consumer::Options o = FastOptions(topic.name(), "g");
  o.max_attempts = 4;
  auto consumer = Consumer::Start(*client, o, [&](const coord::v1::TopicRecord& r) {
    if (r.value() == "e3") {
      attempts_of_3.fetch_add(1);
      return Status::Internal("poison");
    }
    if (r.value() == "e4") throw std::runtime_error("boom once");
    seen.Add(r);
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->WaitCommitted(5, seconds(10)));
  EXPECT_EQ(attempts_of_3.load(), 4);
  const Consumer::Stats st = (*consumer)->stats();
  EXPECT_EQ(st.dead_lettered, 2u) << "e3 and e4 (which always throws)";
  EXPECT_EQ(st.handler_failures, 8u);
  EXPECT_EQ(seen.Distinct(), (std::set<int64_t>{1, 2, 5}));
  Topic dead(*client, topic.name() + "dead/g/");
  auto dl = dead.Read(0, 0);
  ASSERT_TRUE(dl.ok());
  ASSERT_EQ(dl->records_size(), 2);
  EXPECT_EQ(dl->records(0).value(), "e3");
  EXPECT_EQ(dl->records(1).value(), "e4");
  // The cursor moved past them in the same txn as the dead letters.
  EXPECT_EQ(dl->records(1).revision(), (*client->Get(Topic::CursorKey(topic.name(), "g")))->mod_revision());
}

TEST(ClientEvents, ManyDeadLettersInOneBatchAreCommittedInParts) {
  auto client = NewClient();
  Topic topic(*client, Fresh("/ev/manydead") + "/");
  coord::v1::TxnRequest fill;
  for (int i = 0; i < 100; ++i) {
    auto* a = fill.add_success()->mutable_append();
    a->set_topic(topic.name());
    a->set_value("poison");
  }
  ASSERT_TRUE(client->Txn(fill).ok());
  ASSERT_TRUE(client->Txn(fill).ok());
  Consumer::Options o = FastOptions(topic.name(), "g");
  o.batch_size = 500;
  o.max_attempts = 1;
  auto consumer = Consumer::Start(*client, o, [](const coord::v1::TopicRecord&) {
    return Status::Internal("always fails");
  });
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->WaitCommitted(200, seconds(10))) << (*consumer)->stats().last_error.ToString();
  EXPECT_EQ((*consumer)->stats().dead_lettered, 200u);
  EXPECT_GE((*consumer)->stats().batches, 4u) << "at most 64 dead letters per commit";
  auto dl = Topic(*client, topic.name() + "dead/g/").Read(0, 0);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ(dl->records_size(), 200);
}

TEST(ClientEvents, ACursorRewoundByAnOperatorIsFollowed) {
  auto client = NewClient();
  Topic topic(*client, Fresh("/ev/rewind") + "/");
  PublishN(topic, 1, 5);
  Seen seen;
  auto consumer = Consumer::Start(*client, FastOptions(topic.name(), "g"),
                                  [&](const coord::v1::TopicRecord& r) {
                                    seen.Add(r);
                                    return Status::Ok();
                                  });
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->WaitCommitted(5, seconds(10)));
  // The operator rewinds the group to offset 3 (a cursor value the consumer
  // never held at this mod_revision), then an event arrives.
  coord::v1::Request rewind;
  auto* c = rewind.mutable_topic_commit_offset();
  c->set_topic(topic.name());
  c->set_consumer("g");
  c->set_expected(6);
  c->set_offset(3);
  ASSERT_TRUE(client->Call(rewind).ok());
  PublishN(topic, 6, 1);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(seen.mu);
        return std::count(seen.offsets.begin(), seen.offsets.end(), 3) == 2 &&
               std::count(seen.offsets.begin(), seen.offsets.end(), 6) >= 1;
      },
      seconds(15)))
      << "offsets 3.. delivered again after the rewind";
  EXPECT_TRUE(WaitFor([&] { return topic.Cursor("g").value_or(0) == 7; }, seconds(10)));
}

TEST(ClientEvents, TrimKeepsWhatTheSlowestGroupHasNotRead) {
  auto client = NewClient();
  Topic topic(*client, Fresh("/ev/trim") + "/");
  PublishN(topic, 1, 12);
  EXPECT_EQ(*topic.Trim(), 0) << "no group committed: nothing may go";
  auto commit = [&](const std::string& group, int64_t expected, int64_t offset) {
    coord::v1::Request r;
    auto* c = r.mutable_topic_commit_offset();
    c->set_topic(topic.name());
    c->set_consumer(group);
    c->set_expected(expected);
    c->set_offset(offset);
    return client->Call(r).status();
  };
  ASSERT_TRUE(commit("fast", 0, 11).ok());
  ASSERT_TRUE(commit("slow", 0, 5).ok());
  EXPECT_EQ(*topic.Trim(), 4);
  auto read = topic.Read(0, 0);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records_size(), 8);
  EXPECT_EQ(read->records(0).offset(), 5);
  EXPECT_TRUE(topic.Read(2, 0)->truncated());
  EXPECT_EQ(*topic.Lag("slow"), 8);
  EXPECT_EQ(*topic.Trim(7), 0) << "an explicit bound never passes the slowest cursor";
  ASSERT_TRUE(commit("slow", 5, 9).ok());
  EXPECT_EQ(*topic.Trim(7), 2) << "an explicit bound below the slowest cursor";
  EXPECT_EQ(topic.Read(0, 0)->records(0).offset(), 7);
  EXPECT_EQ(*topic.Trim(), 2);
  EXPECT_EQ(topic.Read(0, 0)->records(0).offset(), 9);
}

TEST(ClientEvents, OneReconcilerLeadsPublishesItsStatusAndAStandbyTakesOver) {
  auto c1 = NewClient();
  auto c2 = NewClient();
  const std::string name = Fresh("rec").substr(1);
  std::atomic<int> passes_a{0}, passes_b{0};
  Reconciler::Options o;
  o.name = name;
  o.interval = milliseconds(100);
  o.session_ttl = milliseconds(1500);
  o.instance = "a";
  auto a = Reconciler::Start(*c1, o, [&](int64_t) {
    passes_a.fetch_add(1);
    Reconciler::Report r;
    r.repaired = 2;
    r.summary = "two fixed";
    return r;
  });
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->WaitPasses(2, seconds(10)));
  o.instance = "b";
  auto b = Reconciler::Start(*c2, o, [&](int64_t) {
    passes_b.fetch_add(1);
    Reconciler::Report r;
    r.status = Status::Internal("store down");
    return r;
  });
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->WaitPasses(5, seconds(10)));
  EXPECT_EQ(passes_b.load(), 0) << "only the leader runs passes";
  EXPECT_FALSE((*b)->stats().leader);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Reconciler::Published(*c2, name);
        return p.ok() && p->rfind("a every 100 ms; pass ", 0) == 0 &&
               p->find(" ok at ") != std::string::npos &&
               p->find("repaired 2; two fixed") != std::string::npos;
      },
      seconds(5)))
      << Reconciler::Published(*c2, name).value_or("(none)");
  EXPECT_GE((*a)->stats().repaired_total, 10);

  // The leader stops (resigns): the standby takes over and its errors are visible.
  const int64_t term_a = (*a)->stats().term;
  (*a)->Stop();
  ASSERT_TRUE((*b)->WaitPasses(0, seconds(10)));
  EXPECT_GT((*b)->stats().term, term_a);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto p = Reconciler::Published(*c2, name);
        return p.ok() && p->rfind("b every", 0) == 0 && p->find("error") != std::string::npos &&
               p->find("store down") != std::string::npos;
      },
      seconds(5)));
  EXPECT_FALSE((*b)->stats().last.status.ok());
}

}  // namespace
}  // namespace coord::test
