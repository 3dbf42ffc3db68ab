// PushRegistry: what a connection waits for is re-derived from the state after a
// snapshot install (Resync), and a waiter registered late learns its outcome from
// the state. The state machine is real; the skipped entries are applied to it
// without telling the registry, as a snapshot install would skip their pushes.
#include "server/push_registry.h"

#include <gtest/gtest.h>

#include "coord/state/lock_test_util.h"
#include "coord/state/tpc_test_util.h"
#include "fake_sink.h"

namespace coord::server {
namespace {

using namespace testing;  // NOLINT: the command builders

PushRegistry::LockWait WaitOf(const std::string& name, int64_t session, const ApplyResult& r) {
  EXPECT_FALSE(r.response.lock_acquire().granted()) << "the acquire was meant to queue";
  return PushRegistry::LockWait{name, session, r.response.lock_acquire().acquire_index()};
}

std::vector<pb::LockEvent> LockEvents(FakeSink& sink) {
  std::vector<pb::LockEvent> out;
  for (const auto& m : sink.Drain()) {
    if (m.has_lock()) out.push_back(m.lock());
  }
  return out;
}

TEST(PushRegistry, ResyncGrantsAWaiterWhoseGrantWasSkippedAndEndsAGoneWait) {
  Driver d;
  const int64_t holder = d.CreateSession(), granted = d.CreateSession(),
                gone = d.CreateSession(), still = d.CreateSession();
  ASSERT_TRUE(d.Apply(AcquireCmd("/l", holder)).response.lock_acquire().granted());
  ASSERT_TRUE(d.Apply(AcquireCmd("/m", holder)).response.lock_acquire().granted());
  const auto w_granted = WaitOf("/l", granted, d.Apply(AcquireCmd("/l", granted)));
  const auto w_gone = WaitOf("/m", gone, d.Apply(AcquireCmd("/m", gone)));
  const auto w_still = WaitOf("/m", still, d.Apply(AcquireCmd("/m", still)));

  PushRegistry pushes;
  auto sink = std::make_shared<FakeSink>(1);
  for (const auto& w : {w_granted, w_gone, w_still}) {
    EXPECT_FALSE(pushes.AddLockWaiter(sink, false, w, d.sm));
  }
  EXPECT_TRUE(LockEvents(*sink).empty()) << "all three are still queued";
  EXPECT_EQ(pushes.lock_waiters(), 3u);

  // Entries whose pushes a snapshot install skips: /l passes to `granted`, the
  // session `gone` closes (ending its wait on /m).
  d.Apply(ReleaseCmd("/l", holder));
  d.Apply(CloseCmd(gone));
  pushes.Resync(d.sm);

  const auto events = LockEvents(*sink);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].acquire_index(), w_granted.acquire_index);
  EXPECT_TRUE(events[0].granted());
  EXPECT_EQ(events[0].token(), 2) << "the token the state granted";
  EXPECT_EQ(events[1].acquire_index(), w_gone.acquire_index);
  EXPECT_FALSE(events[1].granted());
  EXPECT_EQ(events[1].error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(pushes.lock_waiters(), 1u) << "the wait still queued stays registered";

  pushes.Resync(d.sm);  // nothing changed: nothing is told twice
  EXPECT_TRUE(LockEvents(*sink).empty());
}

TEST(PushRegistry, AWaiterRegisteredAfterItsOutcomeWasAppliedIsToldAtOnce) {
  Driver d;
  const int64_t holder = d.CreateSession(), waiter = d.CreateSession();
  ASSERT_TRUE(d.Apply(AcquireCmd("/l", holder)).response.lock_acquire().granted());
  const auto w = WaitOf("/l", waiter, d.Apply(AcquireCmd("/l", waiter)));
  d.Apply(ReleaseCmd("/l", holder));  // granted before the reply registered the waiter

  PushRegistry pushes;
  auto sink = std::make_shared<FakeSink>(1);
  EXPECT_TRUE(pushes.AddLockWaiter(sink, false, w, d.sm));
  const auto events = LockEvents(*sink);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].granted());
  EXPECT_EQ(pushes.lock_waiters(), 0u);
}

TEST(PushRegistry, AnAcquireNotAppliedHereYetWaitsForItsEvent) {
  Driver d;
  const int64_t session = d.CreateSession();
  PushRegistry pushes;
  auto sink = std::make_shared<FakeSink>(1);
  // A forwarded reply can outrun this member's log: its acquire index is ahead.
  const PushRegistry::LockWait w{"/l", session, d.index + 5};
  EXPECT_FALSE(pushes.AddLockWaiter(sink, false, w, d.sm));
  pushes.Resync(d.sm);
  EXPECT_TRUE(LockEvents(*sink).empty()) << "no outcome is invented for an unapplied acquire";
  pb::LockEvent grant;
  grant.set_name("/l");
  grant.set_session(session);
  grant.set_acquire_index(w.acquire_index);
  grant.set_granted(true);
  EXPECT_TRUE(pushes.DeliverLockEvent(grant));
  EXPECT_EQ(LockEvents(*sink).size(), 1u);
}

TEST(PushRegistry, ResyncTellsObserversTheCurrentLeaderOnce) {
  Driver d;
  const int64_t a = d.CreateSession(), b = d.CreateSession();
  d.Apply(CampaignCmd("/e", a, "va"));
  d.Apply(CampaignCmd("/e", b, "vb"));
  pb::ElectionLeaderRequest req;
  req.set_name("/e");
  const pb::ElectionLeader first = d.sm.ElectionLeader(req).election_leader().leader();
  ASSERT_EQ(first.session(), a);

  PushRegistry pushes;
  auto sink = std::make_shared<FakeSink>(1);
  pushes.AddObserver(sink, false, pb::ServerMessage(), true, first);
  ASSERT_EQ(sink->Drain().size(), 2u) << "the reply and the first leader";

  d.Apply(ResignCmd("/e", a));  // skipped: b leads now
  pushes.Resync(d.sm);
  auto got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].election().session(), b);
  EXPECT_EQ(got[0].election().term(), first.term() + 1);
  pushes.Resync(d.sm);
  EXPECT_TRUE(sink->Drain().empty()) << "an unchanged leader is not repeated";
}

TEST(PushRegistry, ResyncTellsParticipantsWhatTheyStillHaveToDo) {
  Driver d;
  const uint64_t voted =
      d.Apply(BeginCmd({"p", "q"}, "voted")).response.tpc_begin().txn_id();
  const uint64_t open = d.Apply(BeginCmd({"p", "q"}, "open")).response.tpc_begin().txn_id();
  d.Apply(VoteCmd(voted, "p", true));

  PushRegistry pushes;
  auto p = std::make_shared<FakeSink>(1);
  pushes.AddParticipant(p, false, pb::ServerMessage(), true, "p");
  p->Drain();

  d.Apply(VoteCmd(voted, "q", true));  // skipped: `voted` commits
  pushes.Resync(d.sm);
  std::map<uint64_t, pb::TpcEvent> events;
  for (const auto& m : p->Drain()) events[m.tpc().txn_id()] = m.tpc();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[open].state(), pb::TPC_PREPARING) << "p has not voted on it";
  EXPECT_EQ(events[open].payload(), "open");
  EXPECT_EQ(events[voted].state(), pb::TPC_COMMITTED) << "decided, not acknowledged by p";

  d.Apply(AckCmd(voted, "p"));
  d.Apply(VoteCmd(open, "p", false));
  pushes.Resync(d.sm);
  auto after = p->Drain();
  ASSERT_EQ(after.size(), 1u) << "acknowledged `voted`: nothing more to tell of it";
  EXPECT_EQ(after[0].tpc().txn_id(), open);
  EXPECT_EQ(after[0].tpc().state(), pb::TPC_ABORTED) << "p's no aborts `open`";
}

TEST(PushRegistry, ResyncTellsOwnersOfSessionsThatEnded) {
  Driver d;
  const int64_t ends = d.CreateSession(), lives = d.CreateSession();
  PushRegistry pushes;
  auto sink = std::make_shared<FakeSink>(1);
  pushes.SetSessionOwner(ends, sink, false);
  pushes.SetSessionOwner(lives, sink, false);
  d.Apply(ExpireCmd(ends));
  pushes.Resync(d.sm);
  auto got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].session().session_id(), ends);
  EXPECT_TRUE(got[0].session().expired());
  pushes.Resync(d.sm);
  EXPECT_TRUE(sink->Drain().empty());
}

TEST(PushRegistry, AClosedConnectionIsToldNothing) {
  Driver d;
  const int64_t holder = d.CreateSession(), waiter = d.CreateSession();
  ASSERT_TRUE(d.Apply(AcquireCmd("/l", holder)).response.lock_acquire().granted());
  const auto w = WaitOf("/l", waiter, d.Apply(AcquireCmd("/l", waiter)));
  PushRegistry pushes;
  auto sink = std::make_shared<FakeSink>(7);
  pushes.AddLockWaiter(sink, false, w, d.sm);
  pushes.SetSessionOwner(waiter, sink, false);
  pushes.RemoveConnection(7);
  d.Apply(ReleaseCmd("/l", holder));
  d.Apply(CloseCmd(waiter));
  pushes.Resync(d.sm);
  EXPECT_TRUE(sink->Drain().empty());
  EXPECT_EQ(pushes.lock_waiters(), 0u);
}

}  // namespace
}  // namespace coord::server
