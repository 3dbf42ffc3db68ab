// MemberDirectory: the names and addresses of the ensemble's members as this
// member knows them (Raft knows members only by id). Filled from the initial
// cluster, from committed member_add changes, and from hellos: every member
// sends a hello with its own addresses and every other member it knows by name
// (peer.proto), so a member added at runtime, first known only to the leader
// that added it, spreads to all.
//
// Whom to believe: what a member says about itself (first hand) always wins.
// The leader's relays update what was relayed before (it serves member_add, so
// it knows best); another member's relays only fill in members not known at all.
// A relayed entry whose id is not its name's id is ignored.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "coord/consensus/raft.h"
#include "peer.pb.h"

namespace coord::server {

struct MemberInfo {
  std::string name;
  std::string peer_address;
  std::string client_address;
  // Learned from the member's own hello (authoritative), not relayed by another.
  bool first_hand = false;
};

class MemberDirectory {
 public:
  MemberDirectory(raft::NodeId self, MemberInfo self_info);

  // Records `info`'s non-empty fields for `id`.
  void Add(raft::NodeId id, const MemberInfo& info);
  void SetSelfClientAddress(const std::string& address);

  // Empty when unknown.
  std::string NameOf(raft::NodeId id) const;
  std::string ClientAddressOf(raft::NodeId id) const;
  std::string PeerAddressOf(raft::NodeId id) const;
  // A copy of what is known of `id` (empty fields when unknown).
  MemberInfo Get(raft::NodeId id) const;

  // A hello from member `from`, whose name the caller checked maps to `from`.
  // `from_leader`: `from` is the leader this member knows.
  void OnHello(raft::NodeId from, const pb::Hello& hello, bool from_leader);
  // This member's hello: its own addresses and every other member known by name.
  pb::Hello MakeHello() const;

 private:
  const raft::NodeId self_;
  mutable std::mutex mu_;
  std::map<raft::NodeId, MemberInfo> members_;
};

}  // namespace coord::server
