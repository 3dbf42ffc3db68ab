#include "requests.h"

namespace coord::ctl {
namespace {

// Session ids, revisions and limits are positive int64s on the wire.
Result<int64_t> Positive(const Invocation& inv, std::string_view flag) {
  const std::optional<std::string> v = inv.Flag(flag);
  if (!v) return int64_t{0};
  return ParseInt("--" + std::string(flag), *v, 1);
}

Status NonEmpty(std::string_view what, const std::string& value) {
  if (value.empty()) return Status::InvalidArgument(std::string(what) + " must not be empty");
  return Status::Ok();
}

Result<uint64_t> TxId(const std::string& text) {
  auto id = ParseUint("TXID", text);
  if (!id.ok()) return id.status();
  if (*id == 0) return Status::InvalidArgument("TXID: must be >= 1");
  return *id;
}

}  // namespace

Result<Request> BuildPut(const Invocation& inv) {
  Request r;
  auto* put = r.mutable_put();
  COORD_RETURN_IF_ERROR(NonEmpty("KEY", inv.args[0]));
  put->set_key(inv.args[0]);
  put->set_value(inv.args[1]);
  auto session = Positive(inv, "session");
  if (!session.ok()) return session.status();
  put->set_session(*session);
  put->set_sequential(inv.Has("sequential"));
  return r;
}

Result<Request> BuildGet(const Invocation& inv) {
  Request r;
  auto* range = r.mutable_range();
  const bool prefix = inv.Has("prefix");
  // "" with --prefix is every key; a single key must be named.
  if (!prefix) COORD_RETURN_IF_ERROR(NonEmpty("KEY", inv.args[0]));
  range->set_key(inv.args[0]);
  range->set_prefix(prefix);
  auto rev = Positive(inv, "rev");
  if (!rev.ok()) return rev.status();
  range->set_revision(*rev);
  auto limit = Positive(inv, "limit");
  if (!limit.ok()) return limit.status();
  range->set_limit(*limit);
  range->set_serializable(inv.Has("serializable"));
  range->set_keys_only(inv.Has("keys-only"));
  range->set_count_only(inv.Has("count-only"));
  if (range->keys_only() && range->count_only()) {
    return Status::InvalidArgument("--keys-only and --count-only exclude each other");
  }
  return r;
}

Result<Request> BuildDelete(const Invocation& inv) {
  Request r;
  const bool prefix = inv.Has("prefix");
  // KEY must not be empty even with --prefix: the empty prefix would delete every
  // key, too easy to do by accident from a shell ("del \"$UNSET_VAR\" --prefix").
  COORD_RETURN_IF_ERROR(NonEmpty("KEY", inv.args[0]));
  r.mutable_delete_()->set_key(inv.args[0]);
  r.mutable_delete_()->set_prefix(prefix);
  return r;
}

Result<Request> BuildCas(const Invocation& inv) {
  COORD_RETURN_IF_ERROR(NonEmpty("KEY", inv.args[0]));
  auto version = ParseInt("EXPECTED_VERSION", inv.args[1], 0);
  if (!version.ok()) return version.status();
  Request r;
  auto* txn = r.mutable_txn();
  auto* cmp = txn->add_compare();
  cmp->set_key(inv.args[0]);
  cmp->set_target(coord::v1::Compare::VERSION);
  cmp->set_op(coord::v1::Compare::EQUAL);
  cmp->set_number(*version);
  auto* put = txn->add_success()->mutable_put();
  put->set_key(inv.args[0]);
  put->set_value(inv.args[2]);
  txn->add_failure()->mutable_range()->set_key(inv.args[0]);
  return r;
}

Result<Request> BuildWatch(const Invocation& inv) {
  Request r;
  auto* w = r.mutable_watch_create();
  const bool prefix = inv.Has("prefix");
  if (!prefix) COORD_RETURN_IF_ERROR(NonEmpty("KEY", inv.args[0]));
  w->set_key(inv.args[0]);
  w->set_prefix(prefix);
  auto rev = Positive(inv, "rev");
  if (!rev.ok()) return rev.status();
  w->set_start_revision(*rev);
  w->set_prev_kv(inv.Has("prev-kv"));
  return r;
}

Result<int64_t> EventCount(const Invocation& inv) { return Positive(inv, "count"); }

Result<int64_t> SessionTtlMs(const Invocation& inv) {
  const std::optional<std::string> v = inv.Flag("ttl");
  if (!v) return int64_t{10'000};
  auto d = ParseDuration("--ttl", *v);
  if (!d.ok()) return d.status();
  if (d->count() < 1000) return Status::InvalidArgument("--ttl: at least 1s");
  return static_cast<int64_t>(d->count());
}

Result<Request> BuildSessionCreate(const Invocation& inv) {
  auto ttl = SessionTtlMs(inv);
  if (!ttl.ok()) return ttl.status();
  Request r;
  r.mutable_session_create()->set_ttl_ms(*ttl);
  return r;
}

Result<Request> BuildSessionKeepAlive(const Invocation& inv) {
  auto id = ParseInt("ID", inv.args[0], 1);
  if (!id.ok()) return id.status();
  Request r;
  r.mutable_session_keepalive()->set_session_id(*id);
  return r;
}

Result<Request> BuildSessionClose(const Invocation& inv) {
  auto id = ParseInt("ID", inv.args[0], 1);
  if (!id.ok()) return id.status();
  Request r;
  r.mutable_session_close()->set_session_id(*id);
  return r;
}

Result<Request> BuildSessionList(const Invocation& inv) {
  auto after = Positive(inv, "after");
  if (!after.ok()) return after.status();
  auto limit = Positive(inv, "limit");
  if (!limit.ok()) return limit.status();
  Request r;
  r.mutable_session_list()->set_after_session_id(*after);
  r.mutable_session_list()->set_limit(*limit);
  return r;
}

Result<Request> BuildTxBegin(const Invocation& inv) {
  const std::optional<std::string> participants = inv.Flag("participants");
  if (!participants) return Status::InvalidArgument("tx begin: --participants A,B is required");
  auto names = ParseNameList("--participants", *participants);
  if (!names.ok()) return names.status();
  Request r;
  auto* b = r.mutable_tpc_begin();
  for (const std::string& n : *names) b->add_participants(n);
  if (auto t = inv.Flag("timeout")) {
    auto d = ParseDuration("--timeout", *t);
    if (!d.ok()) return d.status();
    b->set_timeout_ms(d->count());
  }
  b->set_payload(inv.Flag("payload").value_or(""));
  return r;
}

Result<Request> BuildTxVote(const Invocation& inv) {
  auto id = TxId(inv.args[0]);
  if (!id.ok()) return id.status();
  COORD_RETURN_IF_ERROR(NonEmpty("PARTICIPANT", inv.args[1]));
  coord::v1::TpcVote vote;
  if (inv.args[2] == "yes") {
    vote = coord::v1::TPC_VOTE_YES;
  } else if (inv.args[2] == "no") {
    vote = coord::v1::TPC_VOTE_NO;
  } else {
    return Status::InvalidArgument("tx vote: \"" + inv.args[2] + "\" is not a vote (yes|no)");
  }
  Request r;
  r.mutable_tpc_vote()->set_txn_id(*id);
  r.mutable_tpc_vote()->set_participant(inv.args[1]);
  r.mutable_tpc_vote()->set_vote(vote);
  return r;
}

Result<Request> BuildTxAck(const Invocation& inv) {
  auto id = TxId(inv.args[0]);
  if (!id.ok()) return id.status();
  COORD_RETURN_IF_ERROR(NonEmpty("PARTICIPANT", inv.args[1]));
  Request r;
  r.mutable_tpc_ack()->set_txn_id(*id);
  r.mutable_tpc_ack()->set_participant(inv.args[1]);
  return r;
}

Result<Request> BuildTxGet(const Invocation& inv) {
  auto id = TxId(inv.args[0]);
  if (!id.ok()) return id.status();
  Request r;
  r.mutable_tpc_get()->set_txn_id(*id);
  return r;
}

Result<Request> BuildTxList(const Invocation& inv) {
  Request r;
  auto* l = r.mutable_tpc_list();
  if (auto p = inv.Flag("participant")) {
    COORD_RETURN_IF_ERROR(NonEmpty("--participant", *p));
    l->set_participant(*p);
  }
  auto limit = Positive(inv, "limit");
  if (!limit.ok()) return limit.status();
  l->set_limit(*limit);
  return r;
}

Result<Request> BuildMemberAdd(const Invocation& inv) {
  COORD_RETURN_IF_ERROR(NonEmpty("NAME", inv.args[0]));
  auto peer = ParseEndpoints(inv.args[1]);
  if (!peer.ok() || peer->size() != 1) {
    return Status::InvalidArgument("member add: \"" + inv.args[1] + "\" is not PEERHOST:PORT");
  }
  Request r;
  auto* a = r.mutable_member_add();
  a->set_name(inv.args[0]);
  a->set_peer_address(inv.args[1]);
  a->set_learner(inv.Has("learner"));
  if (auto c = inv.Flag("client-address")) {
    auto client = ParseEndpoints(*c);
    if (!client.ok() || client->size() != 1) {
      return Status::InvalidArgument("--client-address: \"" + *c + "\" is not HOST:PORT");
    }
    a->set_client_address(*c);
  }
  return r;
}

Result<Request> BuildMemberPromote(const Invocation& inv) {
  COORD_RETURN_IF_ERROR(NonEmpty("NAME", inv.args[0]));
  Request r;
  r.mutable_member_promote()->set_name(inv.args[0]);
  r.mutable_member_promote()->set_force(inv.Flag("force").has_value());
  return r;
}

Result<Request> BuildMemberRemove(const Invocation& inv) {
  COORD_RETURN_IF_ERROR(NonEmpty("NAME", inv.args[0]));
  Request r;
  r.mutable_member_remove()->set_name(inv.args[0]);
  return r;
}

}  // namespace coord::ctl
