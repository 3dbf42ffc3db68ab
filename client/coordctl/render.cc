#include "render.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>

#include "output.h"
#include "wire_rules.h"

namespace coord::ctl {
namespace {

using coord::v1::Request;
using coord::v1::Response;

std::string Ms(int64_t ms) { return std::to_string(ms) + "ms"; }

std::string SessionLine(int64_t id, int64_t ttl_ms) {
  return "session " + std::to_string(id) + " ttl " + Ms(ttl_ms);
}

std::string MemberLine(const coord::v1::Member& m) {
  std::string line = m.name() + " id " + std::to_string(m.id()) + " peer " + m.peer_address();
  line += " client " + (m.client_address().empty() ? std::string("-") : m.client_address());
  line += m.learner() ? " learner" : " voter";
  return line;
}

std::string TxnLine(const coord::v1::TpcTxnInfo& t) {
  std::string line =
      "txn " + std::to_string(t.txn_id()) + " " + std::string(TpcStateName(t.state()));
  line += " participants ";
  for (int i = 0; i < t.participants_size(); ++i) {
    const auto& p = t.participants(i);
    if (i > 0) line += ',';
    line += p.name() + "=" + std::string(TpcVoteName(p.vote()));
    if (p.acked()) line += "+acked";
  }
  line += " timeout " + Ms(t.timeout_ms());
  if (!t.payload().empty()) line += " payload " + JsonQuote(t.payload());
  if (!t.reason().empty()) line += " reason " + JsonQuote(t.reason());
  return line;
}

// "keys:read:/a/" ("" prefix shown as "*").
std::string PermissionText(const coord::v1::Permission& p) {
  static constexpr const char* kSpaces[] = {"keys", "locks", "elections", "tpc"};
  static constexpr const char* kAccess[] = {"read", "write", "readwrite"};
  const int space = std::clamp(static_cast<int>(p.space()), 0, 3);
  const int access = std::clamp(static_cast<int>(p.access()), 0, 2);
  return std::string(kSpaces[space]) + ":" + kAccess[access] + ":" +
         (p.prefix().empty() ? std::string("*") : JsonQuote(p.prefix()));
}

void AppendLine(std::string* out, const std::string& line) {
  if (!out->empty()) *out += '\n';
  *out += line;
}

std::string RangeText(const coord::v1::RangeRequest& req, const coord::v1::RangeResponse& r) {
  if (req.count_only()) return std::to_string(r.count());
  std::string out;
  for (const auto& kv : r.kvs()) {
    AppendLine(&out, kv.key());
    if (!req.keys_only()) AppendLine(&out, kv.value());
  }
  return out;
}

std::string StatusText(const coord::v1::StatusResponse& s) {
  std::string out = "leader " + (s.leader_name().empty() ? std::string("-") : s.leader_name());
  out += " id " + std::to_string(s.leader_id()) + " revision " + std::to_string(s.revision()) +
         " compacted " + std::to_string(s.compacted_revision());
  for (const auto& m : s.members()) {
    AppendLine(&out, m.name() + " id " + std::to_string(m.id()) + " " + m.role() + " term " +
                         std::to_string(m.term()) + " commit " + std::to_string(m.commit_index()) +
                         " applied " + std::to_string(m.applied_index()) +
                         (m.reachable() ? " reachable" : " unreachable"));
  }
  return out;
}

std::string Text(const Request& request, const Response& r) {
  switch (r.body_case()) {
    case Response::kPut:
      return "OK " + r.put().key() + " revision " + std::to_string(r.put().revision());
    case Response::kRange:
      return RangeText(request.range(), r.range());
    case Response::kDelete:
      return std::to_string(r.delete_().deleted());
    case Response::kTxn: {
      // coordctl's only txn is cas: its success branch is one put.
      std::string key =
          request.txn().success_size() > 0 ? request.txn().success(0).put().key() : "";
      return "OK " + key + " revision " + std::to_string(r.txn().revision());
    }
    case Response::kSessionCreate:
      return SessionLine(r.session_create().session_id(), r.session_create().ttl_ms());
    case Response::kSessionKeepalive:
      return SessionLine(r.session_keepalive().session_id(), r.session_keepalive().ttl_ms());
    case Response::kSessionList: {
      std::string out;
      for (const auto& s : r.session_list().sessions()) {
        std::string line = SessionLine(s.session_id(), s.ttl_ms()) + " remaining " +
                           Ms(s.remaining_ms()) + " keys " + std::to_string(s.keys_size());
        for (const std::string& k : s.keys()) line += " " + k;
        AppendLine(&out, line);
      }
      if (r.session_list().more() && r.session_list().sessions_size() > 0) {
        const int64_t last = r.session_list().sessions().rbegin()->session_id();
        AppendLine(&out, "(more: coordctl session list --after " + std::to_string(last) + ")");
      }
      return out;
    }
    case Response::kMemberList: {
      std::string out;
      for (const auto& m : r.member_list().members()) AppendLine(&out, MemberLine(m));
      return out;
    }
    case Response::kMemberAdd:
      return MemberLine(r.member_add().member());
    case Response::kStatus:
      return StatusText(r.status());
    case Response::kTpcBegin:
      return "txn " + std::to_string(r.tpc_begin().txn_id()) + " timeout " +
             Ms(r.tpc_begin().timeout_ms());
    case Response::kTpcVote:
      return std::string(TpcStateName(r.tpc_vote().state()));
    case Response::kTpcAck:
      return r.tpc_ack().forgotten() ? "OK forgotten" : "OK";
    case Response::kTpcGet:
      return TxnLine(r.tpc_get().txn());
    case Response::kTpcList: {
      std::string out;
      for (const auto& t : r.tpc_list().txns()) AppendLine(&out, TxnLine(t));
      return out;
    }
    case Response::kUserList: {
      std::string out;
      for (const auto& u : r.user_list().users()) {
        std::string line = u.name() + " roles ";
        for (int i = 0; i < u.roles_size(); ++i) line += (i > 0 ? "," : "") + u.roles(i);
        if (u.roles_size() == 0) line += "-";
        AppendLine(&out, line);
      }
      return out;
    }
    case Response::kRoleList: {
      std::string out;
      for (const auto& role : r.role_list().roles()) {
        std::string line = role.name();
        for (const auto& p : role.permissions()) line += " " + PermissionText(p);
        if (role.permissions_size() == 0) line += " (no permissions)";
        AppendLine(&out, line);
      }
      return out;
    }
    case Response::kAuthSet:
      return r.auth_set().enabled() ? "auth enabled" : "auth disabled";
    case Response::kAuthStatus: {
      const auto& a = r.auth_status();
      std::string out = a.enabled() ? "auth enabled" : "auth disabled";
      out += " user " + (a.user().empty() ? std::string("-") : a.user());
      for (int i = 0; i < a.roles_size(); ++i) out += (i > 0 ? "," : " roles ") + a.roles(i);
      return out;
    }
    default:
      // Replies without a payload worth printing: session close, member promote /
      // remove (and any body a newer server adds).
      return "OK";
  }
}

}  // namespace

std::string_view TpcStateName(coord::v1::TpcState state) {
  return coord::v1::TpcMirrorValue(state);
}

std::string_view TpcVoteName(coord::v1::TpcVote vote) {
  switch (vote) {
    case coord::v1::TPC_VOTE_YES:
      return "YES";
    case coord::v1::TPC_VOTE_NO:
      return "NO";
    default:
      return "NONE";
  }
}

std::string RenderResponse(const Request& request, const Response& response, OutputFormat format) {
  if (format == OutputFormat::kText) return Text(request, response);
  // The body is the set member of the oneof; without one (a newer server's empty
  // reply), only the header.
  const auto* reflection = response.GetReflection();
  const auto* oneof = response.GetDescriptor()->FindOneofByName("body");
  const auto* field =
      oneof != nullptr ? reflection->GetOneofFieldDescriptor(response, oneof) : nullptr;
  if (field == nullptr) return JsonObject().Message("header", response.header()).ToString();
  return ResponseJson(reflection->GetMessage(response, field), response.header());
}

std::string RenderEvent(const coord::v1::Event& event, OutputFormat format) {
  if (format == OutputFormat::kJson) return MessageJson(event);
  const bool put = event.type() == coord::v1::Event::PUT;
  std::string out = std::string(put ? "PUT " : "DELETE ") + event.kv().key() + " " +
                    std::to_string(event.kv().mod_revision());
  if (put) out += "\n" + event.kv().value();
  return out;
}

std::string RenderLeader(const coord::v1::ElectionLeader& leader, OutputFormat format) {
  if (format == OutputFormat::kJson) return MessageJson(leader);
  if (leader.session() == 0) return leader.name() + " no leader";
  return leader.name() + " leader " + leader.value() + " term " + std::to_string(leader.term()) +
         " session " + std::to_string(leader.session());
}

std::string RenderLockHeld(const std::string& name, int64_t session, int64_t token, bool shared,
                           OutputFormat format) {
  if (format == OutputFormat::kJson) {
    return JsonObject()
        .Str("name", name)
        .Int("session", session)
        .Int("token", token)
        .Bool("shared", shared)
        .ToString();
  }
  return name + " token " + std::to_string(token) + " session " + std::to_string(session) +
         (shared ? " shared" : "");
}

std::string RenderSnapshotSaved(const std::string& file, int64_t revision, int64_t keys,
                                int64_t bytes, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    return JsonObject()
        .Str("file", file)
        .Int("revision", revision)
        .Int("keys", keys)
        .Int("bytes", bytes)
        .ToString();
  }
  return "saved " + std::to_string(keys) + " keys at revision " + std::to_string(revision) +
         " to " + file + " (" + std::to_string(bytes) + " bytes)";
}

std::string CasFailureMessage(const std::string& key, int64_t expected_version,
                              const coord::v1::TxnResponse& txn) {
  int64_t actual = 0;
  if (txn.results_size() > 0 && txn.results(0).has_range() &&
      txn.results(0).range().kvs_size() > 0) {
    actual = txn.results(0).range().kvs(0).version();
  }
  std::string msg = "compare failed: \"" + key + "\" ";
  msg += actual == 0 ? "does not exist" : "has version " + std::to_string(actual);
  msg += expected_version == 0 ? ", expected it not to exist"
                               : ", expected version " + std::to_string(expected_version);
  return msg;
}

}  // namespace coord::ctl
