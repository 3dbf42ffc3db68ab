// Node: construction, lifecycle and the thread-safe request queues.
// The loop itself is in node_loop.cc.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <utility>

#include "node/membership.h"
#include "node/node_impl.h"
#include "node/snapshot_envelope.h"

namespace coord::raft {

using node_internal::ApplyConfChange;
using node_internal::DecodeSnapshotEnvelope;
using node_internal::ParseConfChange;

Node::Impl::Impl(NodeOptions options, std::unique_ptr<LogStorage> storage,
                 std::unique_ptr<Transport> transport, StateMachine* state_machine)
    : options_(std::move(options)),
      storage_(std::move(storage)),
      transport_(std::move(transport)),
      state_machine_(state_machine),
      work_(boost::asio::make_work_guard(io_)),
      timer_(io_) {}

Node::Impl::~Impl() { Stop(); }

Status Node::Impl::Init() {
  if (!storage_ || !transport_ || state_machine_ == nullptr) {
    return Status::InvalidArgument("node: storage, transport and state machine are required");
  }
  if (options_.raft.id == kNoNode) return Status::InvalidArgument("node: id must be non-zero");
  if (options_.tick_interval.count() <= 0) {
    return Status::InvalidArgument("node: tick_interval must be positive");
  }
  if (options_.default_timeout.count() <= 0) {
    return Status::InvalidArgument("node: default_timeout must be positive");
  }

  // 1. The latest snapshot: address book, membership and (for an in-memory
  //    application) the application state.
  const pb::SnapshotMetadata meta = storage_->SnapshotMetadata();
  if (meta.index() > 0) {
    Result<pb::Snapshot> snapshot = storage_->GetSnapshot();
    if (!snapshot.ok()) return snapshot.status();
    auto envelope = DecodeSnapshotEnvelope(snapshot->data());
    if (!envelope.ok()) return envelope.status();
    addresses_ = std::move(envelope->addresses);
    if (options_.raft.applied < meta.index()) {
      Status s = state_machine_->Restore(envelope->app_image);
      if (!s.ok()) {
        return Status(s.code(), "node: restoring the state machine from snapshot " +
                                    std::to_string(meta.index()) + ": " + s.message());
      }
    }
    applied_ = meta.index();
    snapshot_index_ = meta.index();
    applied_conf_ = meta.conf_state();
  } else {
    for (NodeId v : options_.raft.peers) {
      ApplyConfChange(MakeChange(pb::CONF_ADD_VOTER, v), &applied_conf_);
    }
    for (NodeId l : options_.raft.learners) {
      ApplyConfChange(MakeChange(pb::CONF_ADD_LEARNER, l), &applied_conf_);
    }
  }
  if (options_.raft.applied > applied_) applied_ = options_.raft.applied;

  // 2. Membership changes in the log: addresses of every member added there, and
  //    the membership as of the applied index.
  constexpr uint64_t kScanBytes = 4 << 20;
  for (Index lo = storage_->FirstIndex(); lo <= storage_->LastIndex();) {
    auto entries = storage_->Entries(lo, storage_->LastIndex() + 1, kScanBytes);
    if (!entries.ok()) return entries.status();
    for (const pb::Entry& e : *entries) {
      if (e.type() != pb::ENTRY_CONF_CHANGE) continue;
      auto change = ParseConfChange(e);
      if (!change.ok()) return change.status();
      if (!change->context().empty() && change->type() != pb::CONF_REMOVE_NODE) {
        addresses_[change->node_id()] = change->context();
      }
      if (e.index() > snapshot_index_ && e.index() <= applied_) {
        ApplyConfChange(*change, &applied_conf_);
      }
    }
    lo += entries->size();
  }
  // The operator's addresses win over what the log remembers.
  for (const auto& [peer, address] : options_.peer_addresses) addresses_[peer] = address;

  // 3. The core. Members of one cluster are usually configured with the same
  //    seed; mixing in the id keeps their election timeouts apart.
  Config config = options_.raft;
  config.seed = options_.raft.seed * 0x9E3779B97F4A7C15ULL + options_.raft.id;
  auto raft = Raft::Create(config, storage_.get());
  if (!raft.ok()) return raft.status();
  raft_ = std::move(*raft);
  soft_ = SoftState{raft_->leader(), raft_->role()};
  last_term_ = raft_->term();
  synced_term_ = storage_->HardState().term();
  synced_vote_ = storage_->HardState().vote();
  spdlog::info("raft {}: created at term {}, applied {}, log [{}, {}], snapshot {}",
               id(), last_term_, applied_, storage_->FirstIndex(), storage_->LastIndex(),
               snapshot_index_);
  PublishStatus();
  return Status::Ok();
}

pb::ConfChange Node::Impl::MakeChange(pb::ConfChangeType type, NodeId id) {
  pb::ConfChange change;
  change.set_type(type);
  change.set_node_id(id);
  return change;
}

Status Node::Impl::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopped_) {
      return Status::InvalidArgument("node: Start called twice or after Stop");
    }
    started_ = true;
  }
  Transport::Handlers handlers;
  handlers.on_message = [this](pb::Message message) {
    std::lock_guard lock(mu_);
    if (stopped_ || !error_.ok()) return;
    inbox_.messages.push_back(std::move(message));
    WakeLocked();
  };
  handlers.on_unreachable = [this](NodeId peer) {
    std::lock_guard lock(mu_);
    if (stopped_ || !error_.ok()) return;
    inbox_.unreachable.push_back(peer);
    WakeLocked();
  };
  handlers.on_app = options_.on_app;
  Status s = transport_->Start(std::move(handlers));
  if (!s.ok()) {
    spdlog::error("raft {}: transport failed to start: {}", id(), s.ToString());
    return s;
  }
  for (const auto& [peer, address] : addresses_) {
    if (peer != id()) transport_->AddPeer(peer, address);
  }
  {
    std::lock_guard lock(status_mu_);
    status_.running = true;
  }
  ArmTimer();
  thread_ = std::thread([this] { io_.run(); });
  return Status::Ok();
}

void Node::Impl::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) {
    // Joining ourselves would hang forever: a broken precondition, loudly.
    spdlog::critical("raft {}: Node::Stop called from a node callback", id());
    std::abort();
  }
  if (transport_) transport_->Stop();  // no handler runs after this returns
  if (thread_.joinable()) {
    boost::asio::post(io_, [this] {
      loop_stopping_ = true;
      timer_.cancel();
      work_.reset();  // run() returns once the queued handlers are done
    });
    thread_.join();
  } else {
    work_.reset();
  }
  // The node thread is gone (or never ran): fail what is left on this thread.
  Inbox left;
  {
    std::lock_guard lock(mu_);
    std::swap(left, inbox_);
  }
  const Status aborted = Status::Aborted("node stopped");
  FailInbox(&left, aborted, kNoNode);
  if (raft_) FailPending(Status::Aborted("node stopped with the request pending (it may still "
                                         "be applied by the other members)"));
  bool was_running = false;
  {
    std::lock_guard lock(status_mu_);
    was_running = status_.running;
    status_.running = false;
  }
  if (was_running) spdlog::info("raft {}: stopped", id());
}

void Node::Impl::WakeLocked() {
  if (drain_posted_) return;
  drain_posted_ = true;
  boost::asio::post(io_, [this] { Drain(); });
}

void Node::Impl::FailInbox(Inbox* inbox, const Status& status, NodeId leader_hint) {
  for (auto& p : inbox->proposals) p.done(ProposeResult{status, 0, {}, leader_hint});
  for (auto& c : inbox->conf_changes) c.done(ProposeResult{status, 0, {}, leader_hint});
  for (auto& r : inbox->reads) r.done(ReadResult{status, 0, leader_hint});
  for (auto& t : inbox->transfers) t.done(status);
  *inbox = Inbox{};
}

void Node::Impl::Propose(std::string data, Clock::time_point deadline, ProposeCallback done) {
  if (data.empty()) {
    done(ProposeResult{Status::InvalidArgument("proposal data must not be empty"), 0, {}, kNoNode});
    return;
  }
  Status refused;
  {
    std::lock_guard lock(mu_);
    refused = RefusalLocked();
    if (refused.ok()) {
      inbox_.proposals.push_back(QueuedProposal{std::move(data), deadline, std::move(done)});
      WakeLocked();
      return;
    }
  }
  done(ProposeResult{refused, 0, {}, kNoNode});
}

void Node::Impl::ProposeConfChange(pb::ConfChange change, Clock::time_point deadline,
                                   ProposeCallback done) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    refused = RefusalLocked();
    if (refused.ok()) {
      inbox_.conf_changes.push_back(
          QueuedConfChange{std::move(change), deadline, std::move(done)});
      WakeLocked();
      return;
    }
  }
  done(ProposeResult{refused, 0, {}, kNoNode});
}

// Why new work is refused: the node failed or stopped. OK = accepted. Needs mu_.
Status Node::Impl::RefusalLocked() const {
  if (!error_.ok()) return error_;
  if (stopped_) return Status::Aborted("node stopped");
  return Status::Ok();
}

void Node::Impl::ReadIndex(Clock::time_point deadline, ReadCallback done) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    refused = RefusalLocked();
    if (refused.ok()) {
      inbox_.reads.push_back(QueuedRead{deadline, std::move(done)});
      WakeLocked();
      return;
    }
  }
  done(ReadResult{refused, 0, kNoNode});
}

void Node::Impl::TransferLeadership(NodeId target, DoneCallback done) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    refused = RefusalLocked();
    if (refused.ok()) {
      inbox_.transfers.push_back(QueuedTransfer{target, std::move(done)});
      WakeLocked();
      return;
    }
  }
  done(refused);
}

void Node::Impl::Campaign() {
  std::lock_guard lock(mu_);
  if (stopped_ || !error_.ok()) return;
  inbox_.campaign = true;
  WakeLocked();
}

void Node::Impl::SendApp(NodeId to, std::string payload) {
  {
    std::lock_guard lock(mu_);
    if (stopped_ || !started_ || !error_.ok()) return;
  }
  transport_->SendApp(to, std::move(payload));
}

NodeStatus Node::Impl::GetStatus() const {
  NodeStatus status;
  {
    std::lock_guard lock(status_mu_);
    status = status_;
  }
  std::lock_guard lock(mu_);
  if (!error_.ok()) status.error = error_;
  return status;
}

// ---- Node: the public façade ----

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Create(NodeOptions options,
                                           std::unique_ptr<LogStorage> storage,
                                           std::unique_ptr<Transport> transport,
                                           StateMachine* state_machine) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(storage),
                                     std::move(transport), state_machine);
  COORD_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::Start() { return impl_->Start(); }
void Node::Stop() { impl_->Stop(); }

void Node::Propose(std::string data, ProposeCallback done) {
  impl_->Propose(std::move(data), Clock::now() + impl_->options().default_timeout,
                 std::move(done));
}
void Node::Propose(std::string data, Clock::time_point deadline, ProposeCallback done) {
  impl_->Propose(std::move(data), deadline, std::move(done));
}
void Node::ProposeConfChange(pb::ConfChange change, ProposeCallback done) {
  impl_->ProposeConfChange(std::move(change), Clock::now() + impl_->options().default_timeout,
                           std::move(done));
}
void Node::ProposeConfChange(pb::ConfChange change, Clock::time_point deadline,
                             ProposeCallback done) {
  impl_->ProposeConfChange(std::move(change), deadline, std::move(done));
}
void Node::ReadIndex(ReadCallback done) {
  impl_->ReadIndex(Clock::now() + impl_->options().default_timeout, std::move(done));
}
void Node::ReadIndex(Clock::time_point deadline, ReadCallback done) {
  impl_->ReadIndex(deadline, std::move(done));
}
void Node::TransferLeadership(NodeId target, DoneCallback done) {
  impl_->TransferLeadership(target, std::move(done));
}
void Node::Campaign() { impl_->Campaign(); }
void Node::SendApp(NodeId to, std::string payload) { impl_->SendApp(to, std::move(payload)); }
NodeStatus Node::GetStatus() const { return impl_->GetStatus(); }
NodeId Node::id() const { return impl_->id(); }

}  // namespace coord::raft
