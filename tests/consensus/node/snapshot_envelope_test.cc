// Tests of the node's internal helpers: snapshot envelope and membership replay.
#include "node/snapshot_envelope.h"

#include <gtest/gtest.h>

#include "node/membership.h"

namespace coord::raft::node_internal {
namespace {

TEST(SnapshotEnvelopeTest, RoundTripsAddressesAndImage) {
  SnapshotEnvelope in;
  in.addresses = {{1, "127.0.0.1:7421"}, {2, "127.0.0.2:7421"}, {300, ""}};
  in.app_image = std::string("app\0image", 9);
  auto out = DecodeSnapshotEnvelope(EncodeSnapshotEnvelope(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->addresses, in.addresses);
  EXPECT_EQ(out->app_image, in.app_image);
}

TEST(SnapshotEnvelopeTest, EmptyEnvelopeRoundTrips) {
  auto out = DecodeSnapshotEnvelope(EncodeSnapshotEnvelope({}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->addresses.empty());
  EXPECT_TRUE(out->app_image.empty());
}

TEST(SnapshotEnvelopeTest, RejectsForeignAndTruncatedImages) {
  EXPECT_EQ(DecodeSnapshotEnvelope("").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeSnapshotEnvelope("XXXX\0\0\0\0").status().code(), StatusCode::kCorruption);
  SnapshotEnvelope in;
  in.addresses = {{7, "127.0.0.7:1"}};
  const std::string full = EncodeSnapshotEnvelope(in);
  // Every strict prefix that cuts into the header or address book is refused.
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(DecodeSnapshotEnvelope(full.substr(0, n)).status().code(), StatusCode::kCorruption)
        << n;
  }
}

TEST(SnapshotEnvelopeTest, RejectsMemberIdZero) {
  SnapshotEnvelope in;
  in.addresses = {{0, "x"}};
  EXPECT_EQ(DecodeSnapshotEnvelope(EncodeSnapshotEnvelope(in)).status().code(),
            StatusCode::kCorruption);
}

pb::ConfChange Change(pb::ConfChangeType type, NodeId id) {
  pb::ConfChange c;
  c.set_type(type);
  c.set_node_id(id);
  return c;
}

TEST(MembershipTest, AddPromoteRemoveKeepsListsSortedAndDisjoint) {
  pb::ConfState s;
  ApplyConfChange(Change(pb::CONF_ADD_VOTER, 3), &s);
  ApplyConfChange(Change(pb::CONF_ADD_VOTER, 1), &s);
  ApplyConfChange(Change(pb::CONF_ADD_LEARNER, 2), &s);
  EXPECT_EQ(std::vector<uint64_t>(s.voters().begin(), s.voters().end()),
            (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(std::vector<uint64_t>(s.learners().begin(), s.learners().end()),
            (std::vector<uint64_t>{2}));
  ApplyConfChange(Change(pb::CONF_ADD_VOTER, 2), &s);  // promotion
  EXPECT_EQ(std::vector<uint64_t>(s.voters().begin(), s.voters().end()),
            (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(s.learners_size(), 0);
  ApplyConfChange(Change(pb::CONF_ADD_VOTER, 2), &s);  // idempotent
  EXPECT_EQ(s.voters_size(), 3);
  ApplyConfChange(Change(pb::CONF_REMOVE_NODE, 1), &s);
  EXPECT_EQ(std::vector<uint64_t>(s.voters().begin(), s.voters().end()),
            (std::vector<uint64_t>{2, 3}));
}

TEST(MembershipTest, ParseConfChangeRejectsGarbage) {
  pb::Entry e;
  e.set_index(9);
  e.set_type(pb::ENTRY_CONF_CHANGE);
  e.set_data("\xff\xff\xff");
  auto r = ParseConfChange(e);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("9"), std::string::npos);
  e.set_data(Change(pb::CONF_REMOVE_NODE, 4).SerializeAsString());
  auto ok = ParseConfChange(e);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->node_id(), 4u);
}

}  // namespace
}  // namespace coord::raft::node_internal
