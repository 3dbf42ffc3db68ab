// Elections through the client library: campaign, queued handover on resign and
// on session loss, proclaim, leader lookup, and observers without duplicates.
#include "coord/client/election.h"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "coord/client/session.h"
#include "env.h"

namespace coord::test {
namespace {

std::unique_ptr<Session> NewSession(Client& c) {
  Session::Options o;
  o.ttl = 5s;
  auto s = Session::Create(c, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(ClientElection, HandoverOnResignWithObserversSeeingEachLeaderOnce) {
  auto ca = NewClient();
  auto cb = NewClient();
  auto watcher = NewClient();
  auto sa = NewSession(*ca);
  auto sb = NewSession(*cb);
  ASSERT_TRUE(sa && sb);
  const std::string name = Fresh("/elect/handover");

  std::mutex mu;
  std::vector<coord::v1::ElectionLeader> seen;
  auto observer = ElectionObserver::Create(*watcher, name, [&](const coord::v1::ElectionLeader& l) {
    std::lock_guard lock(mu);
    seen.push_back(l);
  });
  ASSERT_TRUE(observer.ok()) << observer.status();

  Election a(*sa, name), b(*sb, name);
  auto ta = a.Campaign("a-value", 10s);
  ASSERT_TRUE(ta.ok()) << ta.status();
  EXPECT_TRUE(a.is_leader());
  EXPECT_EQ(a.term(), *ta);
  auto leader = Election::Leader(*cb, name);
  ASSERT_TRUE(leader.ok()) << leader.status();
  EXPECT_EQ(leader->session(), sa->id());
  EXPECT_EQ(leader->value(), "a-value");

  std::promise<Result<int64_t>> b_done;
  b.CampaignAsync("b-value", [&](Result<int64_t> r) { b_done.set_value(std::move(r)); });
  auto b_future = b_done.get_future();
  // b is queued behind a.
  ASSERT_TRUE(WaitFor(
      [&] {
        coord::v1::Request r;
        r.mutable_election_leader()->set_name(name);
        return !b.is_leader();
      },
      1s));
  EXPECT_EQ(b_future.wait_for(200ms), std::future_status::timeout);
  ASSERT_TRUE(a.Proclaim("a-value-2").ok());
  EXPECT_EQ(b.Proclaim("nope").code(), StatusCode::kConflict);
  // Drop a's connection once: the observer and the queued candidate re-subscribe.
  cb->TEST_BreakConnection();
  watcher->TEST_BreakConnection();
  ASSERT_TRUE(a.Resign().ok());
  EXPECT_FALSE(a.is_leader());
  ASSERT_EQ(b_future.wait_for(10s), std::future_status::ready);
  auto tb = b_future.get();
  ASSERT_TRUE(tb.ok()) << tb.status();
  EXPECT_EQ(*tb, *ta + 1);
  EXPECT_TRUE(b.is_leader());

  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return !seen.empty() && seen.back().session() == sb->id();
      },
      10s));
  observer->get()->Cancel();
  std::lock_guard lock(mu);
  for (size_t i = 1; i < seen.size(); ++i) {
    const bool same = seen[i].session() == seen[i - 1].session() &&
                      seen[i].term() == seen[i - 1].term() &&
                      seen[i].value() == seen[i - 1].value();
    EXPECT_FALSE(same) << "duplicate consecutive event at " << i;
  }
  // a led with a-value, then proclaimed, then b took over.
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen.back().value(), "b-value");
  EXPECT_EQ(seen.back().term(), *tb);
  bool saw_proclaim = false;
  for (const auto& l : seen) saw_proclaim |= l.value() == "a-value-2";
  EXPECT_TRUE(saw_proclaim);
}

TEST(ClientElection, LeaderSessionEndingHandsOverAndTimeoutKeepsCandidacy) {
  auto ca = NewClient();
  auto cb = NewClient();
  auto sa = NewSession(*ca);
  auto sb = NewSession(*cb);
  ASSERT_TRUE(sa && sb);
  const std::string name = Fresh("/elect/session");
  Election a(*sa, name), b(*sb, name);
  auto ta = a.Campaign("a");
  ASSERT_TRUE(ta.ok()) << ta.status();
  auto queued = b.Campaign("b", 300ms);
  EXPECT_EQ(queued.status().code(), StatusCode::kTimeout) << queued.status();
  ASSERT_TRUE(sa->Close().ok());
  EXPECT_FALSE(a.is_leader());
  auto tb = b.Campaign("b", 10s);  // still queued: promoted when a's session ended
  ASSERT_TRUE(tb.ok()) << tb.status();
  EXPECT_GT(*tb, *ta);
  EXPECT_EQ(Election::Leader(*ca, Fresh("/elect/none")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace coord::test
