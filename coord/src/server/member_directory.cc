#include "server/member_directory.h"

#include "coord/server/server.h"

namespace coord::server {

MemberDirectory::MemberDirectory(raft::NodeId self, MemberInfo self_info) : self_(self) {
  members_[self] = std::move(self_info);
}

void MemberDirectory::Add(raft::NodeId id, const MemberInfo& info) {
  std::lock_guard lock(mu_);
  MemberInfo& m = members_[id];
  if (!info.name.empty()) m.name = info.name;
  if (!info.peer_address.empty()) m.peer_address = info.peer_address;
  if (!info.client_address.empty()) m.client_address = info.client_address;
}

void MemberDirectory::SetSelfClientAddress(const std::string& address) {
  std::lock_guard lock(mu_);
  members_[self_].client_address = address;
}

MemberInfo MemberDirectory::Get(raft::NodeId id) const {
  std::lock_guard lock(mu_);
  auto it = members_.find(id);
  return it == members_.end() ? MemberInfo{} : it->second;
}

std::string MemberDirectory::NameOf(raft::NodeId id) const { return Get(id).name; }
std::string MemberDirectory::ClientAddressOf(raft::NodeId id) const {
  return Get(id).client_address;
}
std::string MemberDirectory::PeerAddressOf(raft::NodeId id) const { return Get(id).peer_address; }

void MemberDirectory::OnHello(raft::NodeId from, const pb::Hello& hello, bool from_leader) {
  Add(from, MemberInfo{hello.name(), hello.peer_address(), hello.client_address()});
  std::lock_guard lock(mu_);
  members_[from].first_hand = true;
  for (const pb::KnownMember& k : hello.known()) {
    if (k.id() == self_ || k.id() == from) continue;
    if (MemberIdFromName(k.name()) != k.id()) continue;
    MemberInfo& m = members_[k.id()];
    // Relayed information never overrides what a member said about itself; a
    // name learned from a leader that lost office right after member_add still
    // spreads through the others' relays.
    if (m.first_hand || (!from_leader && !m.name.empty())) continue;
    m.name = k.name();
    if (!k.peer_address().empty()) m.peer_address = k.peer_address();
    if (!k.client_address().empty()) m.client_address = k.client_address();
  }
}

pb::Hello MemberDirectory::MakeHello() const {
  std::lock_guard lock(mu_);
  pb::Hello hello;
  const MemberInfo& self = members_.at(self_);
  hello.set_name(self.name);
  hello.set_client_address(self.client_address);
  hello.set_peer_address(self.peer_address);
  for (const auto& [id, info] : members_) {
    if (id == self_ || info.name.empty()) continue;
    pb::KnownMember* k = hello.add_known();
    k->set_id(id);
    k->set_name(info.name);
    k->set_client_address(info.client_address);
    k->set_peer_address(info.peer_address);
  }
  return hello;
}

}  // namespace coord::server
