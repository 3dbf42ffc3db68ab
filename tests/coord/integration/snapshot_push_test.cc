// Integration (defect 1): pushed streams survive a member falling behind. A member
// that catches up by installing a snapshot skips entries, and with them the pushes
// they would have caused; what its connections wait for is re-derived from the
// restored state (PushRegistry::Resync, unit-tested in push_registry_test). This test
// freezes a follower while its waiter is granted and its observed election changes.
#include <string>

#include "lock_util.h"

namespace coord::test {
namespace {

Response Call(WsClient& c, const Request& r) {
  auto resp = c.Call(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response Campaign(WsClient& c, const std::string& name, int64_t session) {
  Request r;
  r.mutable_election_campaign()->set_name(name);
  r.mutable_election_campaign()->set_session(session);
  r.mutable_election_campaign()->set_value(std::to_string(session));
  return Call(c, r);
}

// A follower is frozen while the lock its client waits for is granted to that
// client and the leader of an election it observes resigns; the leader writes past
// its snapshot point meanwhile. The waiter still gets its grant (with the token the ensemble gave it), and the
// observer the new leader.
TEST(SnapshotPushes, AGrantAndALeaderChangeMadeWhileAFollowerIsFrozenStillArrive) {
  Ensemble e(3, 30);
  e.set_extra_args({"--snapshot-entries", "20"});  // also keeps only 20 entries
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int follower = (*leader + 1) % 3;
  auto lc = WsClient::Connect(e.member(*leader).client_address);
  auto waiter = WsClient::Connect(e.member(follower).client_address);
  auto observer = WsClient::Connect(e.member(follower).client_address);
  ASSERT_TRUE(lc.ok() && waiter.ok() && observer.ok());

  const std::string lock = "/snap/lock", election = "/snap/election";
  const int64_t holder = NewSession(**lc, 60'000);
  const int64_t next_leader = NewSession(**lc, 60'000);
  const int64_t waiting = NewSession(**waiter, 60'000);
  const int64_t token = AcquireBlocking(**lc, lock, holder, 5s);
  ASSERT_GT(token, 0);
  const Response queued = Acquire(**waiter, lock, waiting, /*wait=*/true);
  ASSERT_TRUE(Ok(queued)) << queued.DebugString();
  ASSERT_FALSE(queued.lock_acquire().granted());
  const uint64_t acquire_index = queued.lock_acquire().acquire_index();

  ASSERT_TRUE(Campaign(**lc, election, holder).election_campaign().leader());
  ASSERT_TRUE(Ok(Campaign(**lc, election, next_leader)));
  Request observe;
  observe.mutable_election_leader()->set_name(election);
  observe.mutable_election_leader()->set_observe(true);
  ASSERT_TRUE(Ok(Call(**observer, observe)));
  auto first = WaitPushed(
      **observer, [](const coord::v1::ServerMessage& m) { return m.has_election(); }, 5s);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->election().session(), holder);

  e.Pause(follower);
  // First more writes than the leader keeps unacknowledged in flight to one
  // follower (256 APPENDs, which reach the frozen member once it resumes); what
  // comes after them waits, the log is compacted past it, and only a snapshot can
  // bring it: the grant and the resignation are made there.
  const auto fill = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(Ok(Put(**lc, "/snap/k" + std::to_string(i % 10), std::to_string(i))));
    }
  };
  fill(400);
  ASSERT_TRUE(Ok(Release(**lc, lock, holder)));  // the grant goes to `waiting`
  Request resign;
  resign.mutable_election_resign()->set_name(election);
  resign.mutable_election_resign()->set_session(holder);
  ASSERT_TRUE(Ok(Call(**lc, resign)));
  fill(100);
  e.Resume(follower);

  auto event = WaitLockEvent(**waiter, acquire_index, 20s);
  ASSERT_TRUE(event.has_value()) << "the grant never reached the waiter";
  EXPECT_TRUE(event->granted()) << event->DebugString();
  EXPECT_EQ(event->token(), token + 1);
  auto changed = WaitPushed(
      **observer,
      [&](const coord::v1::ServerMessage& m) {
        return m.has_election() && m.election().session() == next_leader;
      },
      20s);
  EXPECT_TRUE(changed.has_value()) << "the observer never heard of the new leader";
  // The follower took the install path: the pushes were re-derived, not applied.
  // (Its log line is written after the restore, so after the pushes it caused.)
  const auto installed = [&] {
    return ReadFile(e.log_path(follower)).find("installed snapshot") != std::string::npos;
  };
  EXPECT_TRUE(WaitFor(installed, 10s))
      << "the follower caught up from the log; the test did not force an install";
}

}  // namespace
}  // namespace coord::test
