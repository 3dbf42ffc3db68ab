// Exactly-once writes: retries answered from the table, stale sequences, the
// eviction bound, and survival across a snapshot.
#include <gtest/gtest.h>

#include "coord/state/state_test_util.h"

namespace coord::server::testing {
namespace {

TEST(DedupTest, RetryReturnsTheOriginalResultWithoutApplying) {
  Driver d;
  ApplyResult first = d.Apply(WithClient(PutCmd("/k", "v1"), 7, 1));
  ASSERT_EQ(first.response.error().code(), pb::OK);
  ASSERT_EQ(first.events.size(), 1u);
  d.Apply(PutCmd("/other", "x"));  // someone else writes meanwhile

  ApplyResult retry = d.Apply(WithClient(PutCmd("/k", "v1"), 7, 1));
  EXPECT_TRUE(retry.duplicate);
  EXPECT_TRUE(retry.events.empty());
  EXPECT_EQ(retry.response.SerializeAsString(), first.response.SerializeAsString());
  EXPECT_EQ(d.sm.revision(), 2);
  pb::KeyValue kv = d.sm.Range(RangeReq("/k")).range().kvs(0);
  EXPECT_EQ(kv.version(), 1);  // applied once

  // Errors are results too: a retried failing write fails the same way.
  ApplyResult bad = d.Apply(WithClient(PutCmd("/e", "v", 99), 7, 2));
  EXPECT_EQ(bad.response.error().code(), pb::SESSION_EXPIRED);
  EXPECT_EQ(d.Apply(WithClient(PutCmd("/e", "v", 99), 7, 2)).response.SerializeAsString(),
            bad.response.SerializeAsString());
}

TEST(DedupTest, StaleSequenceIsAConflictAndNotApplied) {
  Driver d;
  d.Apply(WithClient(PutCmd("/k", "1"), 7, 1));
  d.Apply(WithClient(PutCmd("/k", "2"), 7, 5));  // gaps are allowed
  ApplyResult stale = d.Apply(WithClient(PutCmd("/k", "old"), 7, 3));
  EXPECT_EQ(stale.response.error().code(), pb::CONFLICT);
  EXPECT_NE(stale.response.error().message().find("stale sequence"), std::string::npos);
  EXPECT_EQ(d.Value("/k"), "2");
  EXPECT_EQ(d.Apply(WithClient(PutCmd("/k", "x"), 7, 0)).response.error().code(),
            pb::INVALID_ARGUMENT);
  // Client 0 never deduplicates.
  d.Apply(PutCmd("/n", "1"));
  d.Apply(PutCmd("/n", "1"));
  EXPECT_EQ(d.sm.Range(RangeReq("/n")).range().kvs(0).version(), 2);
}

TEST(DedupTest, SessionCreateIsNotRepeated) {
  Driver d;
  ApplyResult a = d.Apply(WithClient(SessionCreateCmd(5000), 3, 1));
  ApplyResult b = d.Apply(WithClient(SessionCreateCmd(5000), 3, 1));
  EXPECT_EQ(a.response.session_create().session_id(), b.response.session_create().session_id());
  EXPECT_EQ(d.sm.Sessions().size(), 1u);
}

TEST(DedupTest, TableIsBoundedByLeastRecentlyUsed) {
  StateMachineOptions o;
  o.max_dedup_clients = 3;
  Driver d(o);
  for (uint64_t c = 1; c <= 3; ++c) d.Apply(WithClient(PutCmd("/k", "v"), c, 1));
  d.Apply(WithClient(PutCmd("/k", "v"), 1, 2));  // client 1 is now the most recent
  d.Apply(WithClient(PutCmd("/k", "v"), 4, 1));  // evicts client 2 (oldest index)
  EXPECT_EQ(d.sm.dedup_clients(), 3u);
  const int64_t before = d.sm.revision();
  // Client 1 and 3 are remembered; client 2 was forgotten, so its retry applies.
  EXPECT_TRUE(d.Apply(WithClient(PutCmd("/k", "v"), 1, 2)).duplicate);
  EXPECT_TRUE(d.Apply(WithClient(PutCmd("/k", "v"), 3, 1)).duplicate);
  EXPECT_EQ(d.sm.revision(), before);
  EXPECT_FALSE(d.Apply(WithClient(PutCmd("/k", "v"), 2, 1)).duplicate);
  EXPECT_EQ(d.sm.revision(), before + 1);
  EXPECT_EQ(d.sm.dedup_clients(), 3u);
}

TEST(DedupTest, SurvivesSnapshotRestore) {
  Driver d;
  ApplyResult first = d.Apply(WithClient(PutCmd("/k", "v"), 11, 4));
  Driver restored;
  ASSERT_TRUE(restored.sm.Restore(d.sm.Snapshot()).ok());
  restored.index = d.index;
  ApplyResult retry = restored.Apply(WithClient(PutCmd("/k", "v"), 11, 4));
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.response.SerializeAsString(), first.response.SerializeAsString());
  EXPECT_EQ(restored.sm.revision(), 1);
  EXPECT_EQ(restored.Apply(WithClient(PutCmd("/k", "v"), 11, 2)).response.error().code(),
            pb::CONFLICT);
}

// Two client processes with the same client id (a fixed client_id_base, a seeded
// generator, a restart) but different incarnations are different lanes: the
// second's sequence 1 is applied, not answered with the first's cached result.
TEST(DedupTest, SameClientIdDifferentIncarnationsAreDifferentLanes) {
  Driver d;
  ApplyResult a = d.Apply(WithClient(PutCmd("/k", "from-a"), 7, 1, 0xaaaa));
  ApplyResult b = d.Apply(WithClient(PutCmd("/k", "from-b"), 7, 1, 0xbbbb));
  EXPECT_FALSE(b.duplicate);
  EXPECT_EQ(d.sm.revision(), 2);
  EXPECT_EQ(d.sm.dedup_clients(), 2u);
  // Each lane still deduplicates on its own, and a lane without an incarnation
  // is a third one.
  EXPECT_TRUE(d.Apply(WithClient(PutCmd("/k", "from-a"), 7, 1, 0xaaaa)).duplicate);
  EXPECT_EQ(d.Apply(WithClient(PutCmd("/k", "x"), 7, 1, 0xbbbb)).response.SerializeAsString(),
            b.response.SerializeAsString());
  EXPECT_FALSE(d.Apply(WithClient(PutCmd("/k", "plain"), 7, 1)).duplicate);
  EXPECT_EQ(d.sm.revision(), 3);
}

TEST(DedupTest, IncarnationsSurviveSnapshotRestoreInFormat2) {
  Driver d;
  ApplyResult first = d.Apply(WithClient(PutCmd("/k", "v"), 11, 4, 5));
  d.Apply(WithClient(PutCmd("/k", "w"), 11, 9));
  const std::string image = d.sm.Snapshot();
  coord::state::StateSnapshot parsed;
  ASSERT_TRUE(parsed.ParseFromString(image));
  EXPECT_EQ(parsed.format_version(), 2u);
  Driver restored;
  ASSERT_TRUE(restored.sm.Restore(image).ok());
  restored.index = d.index;
  ApplyResult retry = restored.Apply(WithClient(PutCmd("/k", "v"), 11, 4, 5));
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.response.SerializeAsString(), first.response.SerializeAsString());
  EXPECT_EQ(restored.Apply(WithClient(PutCmd("/k", "v"), 11, 3)).response.error().code(),
            pb::CONFLICT);
}

// Without incarnations the image stays in format 1, which the previous version reads.
TEST(DedupTest, SnapshotWithoutIncarnationsStaysFormat1) {
  Driver d;
  d.Apply(WithClient(PutCmd("/k", "v"), 11, 4));
  coord::state::StateSnapshot parsed;
  ASSERT_TRUE(parsed.ParseFromString(d.sm.Snapshot()));
  EXPECT_EQ(parsed.format_version(), 1u);
}

}  // namespace
}  // namespace coord::server::testing
