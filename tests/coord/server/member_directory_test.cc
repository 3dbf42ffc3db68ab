// Whom the member directory believes: a member about itself, the leader's relays
// over earlier relays, and another member's relays only for unknown members.
#include "server/member_directory.h"

#include <gtest/gtest.h>

#include "coord/server/server.h"

namespace coord::server {
namespace {

const raft::NodeId kSelf = MemberIdFromName("m1");
const raft::NodeId kLeader = MemberIdFromName("m2");
const raft::NodeId kOther = MemberIdFromName("m3");
const raft::NodeId kNew = MemberIdFromName("m4");

pb::Hello HelloOf(const std::string& name, const std::string& client) {
  pb::Hello h;
  h.set_name(name);
  h.set_client_address(client);
  h.set_peer_address(client + "-peer");
  return h;
}

void Relay(pb::Hello* h, raft::NodeId id, const std::string& name, const std::string& client) {
  pb::KnownMember* k = h->add_known();
  k->set_id(id);
  k->set_name(name);
  k->set_client_address(client);
}

TEST(MemberDirectoryTest, AMemberAddedAtTheLeaderSpreadsAndItsOwnHelloWins) {
  MemberDirectory d(kSelf, MemberInfo{"m1", "p1", ""});
  d.SetSelfClientAddress("c1");
  pb::Hello from_other = HelloOf("m3", "c3");
  Relay(&from_other, kNew, "m4", "stale-address");
  d.OnHello(kOther, from_other, /*from_leader=*/false);
  EXPECT_EQ(d.NameOf(kNew), "m4") << "an unknown member is filled in from anyone";
  EXPECT_EQ(d.ClientAddressOf(kNew), "stale-address");

  pb::Hello from_leader = HelloOf("m2", "c2");
  Relay(&from_leader, kNew, "m4", "leader-address");
  d.OnHello(kLeader, from_leader, /*from_leader=*/true);
  EXPECT_EQ(d.ClientAddressOf(kNew), "leader-address") << "the leader's relay updates a relay";

  from_other = HelloOf("m3", "c3");
  Relay(&from_other, kNew, "m4", "stale-again");
  d.OnHello(kOther, from_other, false);
  EXPECT_EQ(d.ClientAddressOf(kNew), "leader-address")
      << "a non-leader relay does not override what is known";

  d.OnHello(kNew, HelloOf("m4", "own-address"), false);
  from_leader = HelloOf("m2", "c2");
  Relay(&from_leader, kNew, "m4", "leader-again");
  d.OnHello(kLeader, from_leader, true);
  EXPECT_EQ(d.ClientAddressOf(kNew), "own-address") << "first hand beats every relay";
}

TEST(MemberDirectoryTest, ARelayWhoseIdIsNotItsNamesIdOrThatNamesUsIsIgnored) {
  MemberDirectory d(kSelf, MemberInfo{"m1", "p1", "c1"});
  pb::Hello h = HelloOf("m2", "c2");
  Relay(&h, kNew, "m5", "forged");  // m5's id is not kNew
  Relay(&h, kSelf, "m1", "not-me");
  d.OnHello(kLeader, h, true);
  EXPECT_EQ(d.NameOf(kNew), "");
  EXPECT_EQ(d.ClientAddressOf(kSelf), "c1");
  EXPECT_EQ(d.NameOf(kLeader), "m2");
  EXPECT_EQ(d.PeerAddressOf(kLeader), "c2-peer");
}

TEST(MemberDirectoryTest, OurHelloCarriesOurAddressesAndEveryNamedMember) {
  MemberDirectory d(kSelf, MemberInfo{"m1", "p1", ""});
  d.SetSelfClientAddress("c1");
  d.Add(kLeader, MemberInfo{"m2", "p2", ""});
  d.Add(kOther, MemberInfo{"", "p3", ""});  // no name yet: not relayed
  const pb::Hello h = d.MakeHello();
  EXPECT_EQ(h.name(), "m1");
  EXPECT_EQ(h.client_address(), "c1");
  EXPECT_EQ(h.peer_address(), "p1");
  ASSERT_EQ(h.known_size(), 1);
  EXPECT_EQ(h.known(0).id(), kLeader);
  EXPECT_EQ(h.known(0).peer_address(), "p2");
}

}  // namespace
}  // namespace coord::server
