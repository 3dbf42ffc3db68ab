// Snapshots: determinism across instances fed the same randomized log, byte-exact
// round trips, equal reads after restore, and rejection of bad snapshot bytes.
#include <gtest/gtest.h>

#include <random>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

// A randomized but seeded command log over a small key space, exercising every
// command type (including failing ones and dedup retries).
std::vector<Command> RandomLog(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  auto key = [&] { return "/k/" + std::to_string(pick(12)); };
  std::vector<Command> log;
  int64_t sessions = 0;
  uint64_t seq[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; ++i) {
    Command c;
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
        c = PutCmd(key(), "v" + std::to_string(i),
                   pick(3) == 0 ? 1 + pick(std::max<int64_t>(1, sessions)) : 0, pick(2) == 0);
        break;
      case 3:
        c = DeleteCmd(pick(4) == 0 ? "/k/" : key(), pick(4) == 0, true);
        break;
      case 4:
        c = SequentialCmd("/q/", "s", pick(2) == 0 ? sessions : 0);
        break;
      case 5: {
        pb::TxnRequest* t = c.mutable_txn();
        pb::Compare* cmp = t->add_compare();
        cmp->set_key(key());
        cmp->set_target(pb::Compare::VERSION);
        cmp->set_op(pb::Compare::GREATER);
        cmp->set_number(pick(3));
        t->add_success()->mutable_put()->set_key(key());
        t->add_success()->mutable_range()->set_key("/k/");
        t->mutable_success(1)->mutable_range()->set_prefix(true);
        t->add_failure()->mutable_delete_()->set_key(key());
        break;
      }
      case 6:
        c = SessionCreateCmd(1000 + pick(5000));
        ++sessions;
        break;
      case 7:
        c = pick(2) ? KeepAliveCmd(1 + pick(std::max<int64_t>(1, sessions)))
                    : ExpireCmd(1 + pick(std::max<int64_t>(1, sessions)));
        break;
      case 8:
        c = CompactCmd(1 + pick(std::max(1, i)));
        break;
      case 9: {
        auto* e = c.mutable_session_checkpoint()->add_sessions();
        e->set_session_id(1 + pick(std::max<int64_t>(1, sessions)));
        e->set_remaining_ms(pick(6000));
        break;
      }
    }
    if (pick(3) == 0) {
      int client = pick(4);
      // Sometimes retry the previous sequence, sometimes move on.
      if (seq[client] == 0 || pick(3) != 0) ++seq[client];
      c = WithClient(c, static_cast<uint64_t>(client + 1), seq[client]);
    }
    log.push_back(std::move(c));
  }
  return log;
}

StateMachineOptions SmallOptions() {
  StateMachineOptions o;
  o.history_revisions = 40;
  o.max_dedup_clients = 3;
  return o;
}

TEST(SnapshotTest, SameLogGivesByteIdenticalSnapshots) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::vector<Command> log = RandomLog(seed, 600);
    Driver a(SmallOptions());
    Driver b(SmallOptions());
    for (const Command& c : log) {
      ApplyResult ra = a.Apply(c);
      ApplyResult rb = b.Apply(c);
      ASSERT_EQ(ra.response.SerializeAsString(), rb.response.SerializeAsString());
    }
    EXPECT_GT(a.sm.revision(), 100) << "the log should write a lot";
    EXPECT_GT(a.sm.compacted_revision(), 0);
    EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot()) << "seed " << seed;
  }
}

TEST(SnapshotTest, RoundTripIsExactAndReadsAgree) {
  std::vector<Command> log = RandomLog(42, 500);
  Driver a(SmallOptions());
  for (size_t i = 0; i < 400; ++i) a.Apply(log[i]);
  const std::string bytes = a.sm.Snapshot();

  Driver b(SmallOptions());
  b.Apply(PutCmd("/junk", "replaced by the restore"));
  ASSERT_TRUE(b.sm.Restore(bytes).ok());
  EXPECT_EQ(b.sm.Snapshot(), bytes);
  EXPECT_EQ(b.sm.last_applied_index(), a.sm.last_applied_index());
  EXPECT_EQ(b.sm.revision(), a.sm.revision());
  EXPECT_EQ(b.sm.compacted_revision(), a.sm.compacted_revision());
  EXPECT_EQ(b.sm.key_count(), a.sm.key_count());
  EXPECT_EQ(b.Value("/junk"), "<none>");

  // Reads at every revision in the window and the event log agree.
  for (int64_t rev = a.sm.compacted_revision() + 1; rev <= a.sm.revision(); ++rev) {
    EXPECT_EQ(a.sm.Range(RangeReq("/", true, rev)).SerializeAsString(),
              b.sm.Range(RangeReq("/", true, rev)).SerializeAsString());
  }
  Result<EventBatch> ea = a.sm.EventsSince(a.sm.compacted_revision() + 1, "/", "", true, 0);
  Result<EventBatch> eb = b.sm.EventsSince(b.sm.compacted_revision() + 1, "/", "", true, 0);
  ASSERT_TRUE(ea.ok() && eb.ok());
  ASSERT_EQ(ea->events.size(), eb->events.size());
  for (size_t i = 0; i < ea->events.size(); ++i) {
    EXPECT_EQ(ea->events[i].event.SerializeAsString(), eb->events[i].event.SerializeAsString());
  }
  EXPECT_EQ(a.sm.ListSessions(true).SerializeAsString(),
            b.sm.ListSessions(true).SerializeAsString());

  // Both continue identically.
  b.index = a.index;
  for (size_t i = 400; i < log.size(); ++i) {
    ASSERT_EQ(a.Apply(log[i]).response.SerializeAsString(),
              b.Apply(log[i]).response.SerializeAsString());
  }
  EXPECT_EQ(a.sm.Snapshot(), b.sm.Snapshot());
}

TEST(SnapshotTest, BadBytesAreRejectedAndStateKept) {
  Driver d;
  d.Apply(PutCmd("/k", "v"));
  const std::string good = d.sm.Snapshot();
  Status garbage = d.sm.Restore("\xff\xff\xff not a snapshot");
  EXPECT_EQ(garbage.code(), StatusCode::kCorruption);
  EXPECT_EQ(d.Value("/k"), "v");

  // A well-formed message that breaks an invariant: an event without a version.
  coord::state::StateSnapshot broken;
  ASSERT_TRUE(broken.ParseFromString(good));
  broken.mutable_events(0)->set_key("/nope");
  EXPECT_EQ(d.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
  // A live key owned by a session that does not exist.
  ASSERT_TRUE(broken.ParseFromString(good));
  broken.mutable_keys(0)->mutable_versions(0)->set_session(5);
  EXPECT_EQ(d.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
  // Unknown format version.
  ASSERT_TRUE(broken.ParseFromString(good));
  broken.set_format_version(9);
  EXPECT_EQ(d.sm.Restore(broken.SerializeAsString()).code(), StatusCode::kCorruption);
  EXPECT_EQ(d.Value("/k"), "v");
  EXPECT_TRUE(d.sm.Restore(good).ok());
}

TEST(SnapshotTest, EmptyStateRoundTrips) {
  Driver a;
  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
  EXPECT_EQ(b.sm.revision(), 0);
}

// A retired member id is replicated state: it survives a snapshot, and only a
// snapshot that holds one needs the newer format.
TEST(SnapshotTest, RetiredMemberIdsSurviveARestoreInFormatThree) {
  Driver a;
  a.Apply(PutCmd("/k", "v"));
  coord::state::StateSnapshot plain;
  ASSERT_TRUE(plain.ParseFromString(a.sm.Snapshot()));
  EXPECT_EQ(plain.format_version(), 1u) << "no retired members: the old format";

  Command retire;
  retire.mutable_member_retire()->set_member_id(77);
  a.Apply(retire);
  EXPECT_TRUE(a.sm.IsRetiredMember(77));
  EXPECT_FALSE(a.sm.IsRetiredMember(78));
  coord::state::StateSnapshot image;
  ASSERT_TRUE(image.ParseFromString(a.sm.Snapshot()));
  EXPECT_EQ(image.format_version(), 3u);

  Driver b;
  ASSERT_TRUE(b.sm.Restore(a.sm.Snapshot()).ok());
  EXPECT_TRUE(b.sm.IsRetiredMember(77));
  EXPECT_EQ(b.sm.Snapshot(), a.sm.Snapshot());
}

}  // namespace
}  // namespace coord::server::testing
