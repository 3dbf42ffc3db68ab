// Service: logins and the connection's identity (docs/security.md, "Clients").
//
// A connection is anonymous until it authenticates: with a password (checked on
// the hashing thread against the replicated hash, after a read point so a user
// just added anywhere can log in here), with a token (checked at once: HMAC with
// the replicated key), with a token offered in Sec-WebSocket-Protocol at the
// upgrade (the browser path), or by a client certificate naming a user. Every
// request re-checks the identity (CallerOf), so a deleted user, a changed
// password, a disabled-and-re-enabled auth or a passed expiry ends the login on
// every connection at once.
//
// Abuse limits: one hashing thread (password checks cost tens of ms, so at most
// one core goes to them), at most kMaxLoginsInProgress waiting for it (more get
// UNAVAILABLE), and a failed login's reply is delayed 100 ms, doubling per
// failure on that connection up to 5 s.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coord/crypto.h"
#include "server/auth_password.h"
#include "server/auth_token.h"
#include "server/codec.h"
#include "server/service.h"
#include "state/auth_table.h"

namespace coord::server {

namespace {

using coord::v1::Request;
using coord::v1::Response;
using coord::v1::ServerMessage;

constexpr auto kFirstLoginDelay = std::chrono::milliseconds(100);
constexpr auto kMaxLoginDelay = std::chrono::milliseconds(5000);

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Checked for unknown users too, so a login takes as long whether the user exists.
const PasswordHash& DecoyHash() {
  static const PasswordHash decoy = [] {
    Result<PasswordHash> h = HashPassword(crypto::RandomBytes(16));
    return h.ok() ? *h : PasswordHash{};
  }();
  return decoy;
}

Status AuthDisabled() {
  return Status::InvalidArgument("auth is not enabled on this ensemble: no login is needed");
}

void FillLogin(const StateMachine& sm, const ConnectionIdentity& id, std::string token,
               Response* r) {
  auto* body = r->mutable_authenticate();
  body->set_token(std::move(token));
  body->set_expires_unix_ms(id.expires_unix_ms);
  body->set_user(id.user);
  for (const std::string& role : sm.RolesOf(id.user)) body->add_roles(role);
}

// The identity a token proves now: well-formed, signed with the current key, not
// expired, and its user still there with the generation it was issued at.
Result<ConnectionIdentity> IdentityFromToken(const StateMachine& sm, std::string_view token) {
  Result<TokenClaims> claims = VerifyToken(sm.auth_signing_key(), token, NowUnixMs());
  if (!claims.ok()) return claims.status();
  const UserEntry* u = sm.FindUser(claims->user);
  if (u == nullptr || u->generation != claims->generation) {
    return Status::Unauthenticated(
        "token refused: its user was deleted or changed the password since it was issued");
  }
  ConnectionIdentity id;
  id.user = claims->user;
  id.generation = claims->generation;
  id.expires_unix_ms = claims->expires_unix_ms;
  id.signing_key = sm.auth_signing_key();
  return id;
}

Response ErrorFor(uint64_t id, const Status& status) {
  Response r;
  r.set_id(id);
  *r.mutable_error() = ApiError(status, "");
  return r;
}

}  // namespace

bool Service::TakeLoginSlot(ClientSink& sink, uint64_t request_id, bool text) {
  if (logins_in_progress_.fetch_add(1) < kMaxLoginsInProgress) return true;
  logins_in_progress_.fetch_sub(1);
  metrics_->CountLoginShed();
  PushResponse(sink,
               ErrorFor(request_id, Status::Unavailable("too many logins and password hashes "
                                                        "are in progress on this member; retry "
                                                        "shortly")),
               text);
  return false;
}

Result<std::string> Service::CallerOf(ClientSink& sink, const StateMachine& sm) const {
  if (!sm.auth_enabled()) return std::string();
  ConnectionIdentity id = sink.identity();
  if (id.user.empty() && !id.offered_token.empty()) {
    Result<ConnectionIdentity> proven = IdentityFromToken(sm, id.offered_token);
    id = sink.UpdateIdentity([&](ConnectionIdentity& current) {
      current.offered_token.clear();  // checked once
      if (proven.ok()) current = *proven;
      return current;
    });
    metrics_->CountLogin(proven.ok());
    if (!proven.ok()) {
      return Status::Unauthenticated("the token offered in Sec-WebSocket-Protocol was refused: " +
                                     proven.status().message());
    }
  }
  if (id.user.empty()) return std::string();
  const UserEntry* u = sm.FindUser(id.user);
  if (u == nullptr) {
    if (id.from_certificate) {
      return Status::Unauthenticated("no user \"" + id.user +
                                     "\" (the name in this connection's client certificate): "
                                     "authenticate, or add the user");
    }
    return Status::Unauthenticated("user \"" + id.user +
                                   "\" was deleted since this connection authenticated");
  }
  if (id.from_certificate) return id.user;
  if (id.signing_key != sm.auth_signing_key()) {
    return Status::Unauthenticated(
        "auth was disabled and enabled again since this connection authenticated: every "
        "token ended; authenticate again");
  }
  if (u->generation != id.generation) {
    return Status::Unauthenticated("the password of user \"" + id.user +
                                   "\" changed since this connection authenticated; "
                                   "authenticate again");
  }
  if (NowUnixMs() >= id.expires_unix_ms) {
    return Status::Unauthenticated(
        "this connection's login expired (its token's expiry, --auth-token-ttl); authenticate "
        "again");
  }
  return id.user;
}

void Service::Authenticate(const std::shared_ptr<ClientSink>& sink, const Request& request,
                           bool text, Clock::time_point deadline) {
  const coord::v1::AuthenticateRequest& a = request.authenticate();
  Response r;
  r.set_id(request.id());
  if (!a.token().empty()) {
    const Status failure = adapter_->Read([&](const StateMachine& sm) -> Status {
      if (!sm.auth_enabled()) return AuthDisabled();
      Result<ConnectionIdentity> id = IdentityFromToken(sm, a.token());
      if (!id.ok()) return id.status();
      sink->set_identity(*id);
      FillLogin(sm, *id, a.token(), &r);
      return Status::Ok();
    });
    FinishLogin(sink, std::move(r), text, failure);
    return;
  }
  if (a.name().empty() || a.password().empty()) {
    FinishLogin(sink, std::move(r), text,
                Status::InvalidArgument("authenticate needs name and password, or token"));
    return;
  }
  if (!TakeLoginSlot(*sink, request.id(), text)) return;
  auto failed = [this, sink, text](Outcome o) {
    logins_in_progress_.fetch_sub(1);
    PushResponse(*sink, std::move(o.response), text);
  };
  router_.AfterReadIndex(request.id(), deadline, [this, sink, request, text] {
    struct Stored {
      Status refusal;
      bool found = false;
      PasswordHash hash;
      ConnectionIdentity id;
    };
    const std::string& name = request.authenticate().name();
    Stored st = adapter_->Read([&](const StateMachine& sm) {
      Stored out;
      if (!sm.auth_enabled()) {
        out.refusal = AuthDisabled();
        return out;
      }
      if (const UserEntry* u = sm.FindUser(name)) {
        out.found = true;
        out.hash = PasswordHash{u->salt, u->hash, u->iterations};
        out.id.generation = u->generation;
      }
      out.id.user = name;
      out.id.signing_key = sm.auth_signing_key();
      return out;
    });
    boost::asio::post(hash_pool_, [this, sink, request, text, st = std::move(st)]() mutable {
      Response r;
      r.set_id(request.id());
      Status failure = st.refusal;
      if (failure.ok()) {
        const std::string& password = request.authenticate().password();
        const bool match = VerifyPassword(password, st.found ? st.hash : DecoyHash()) && st.found;
        if (!match) failure = Status::Unauthenticated("wrong user name or password");
      }
      if (failure.ok()) {
        st.id.expires_unix_ms =
            NowUnixMs() + std::chrono::duration_cast<std::chrono::milliseconds>(
                              options_.auth_token_ttl)
                              .count();
        Result<std::string> token = MintToken(
            st.id.signing_key, TokenClaims{st.id.user, st.id.expires_unix_ms, st.id.generation});
        if (!token.ok()) {
          failure = token.status();
        } else {
          sink->set_identity(st.id);
          adapter_->Read([&](const StateMachine& sm) {
            FillLogin(sm, st.id, *token, &r);
            return 0;
          });
        }
      }
      logins_in_progress_.fetch_sub(1);
      FinishLogin(sink, std::move(r), text, failure);
    });
  }, failed);
}

void Service::FinishLogin(const std::shared_ptr<ClientSink>& sink, Response response, bool text,
                          Status failure) {
  ServerMessage m;
  if (failure.ok()) {
    metrics_->CountLogin(true);
    router_.FillHeader(&response);
    *m.mutable_response() = std::move(response);
    sink->Push(m, text);
    return;
  }
  const bool counted = failure.code() == StatusCode::kUnauthenticated;
  if (counted) metrics_->CountLogin(false);
  response.clear_body();
  *response.mutable_error() = ApiError(failure, "");
  *m.mutable_response() = std::move(response);
  if (!counted) {
    sink->Push(m, text);
    return;
  }
  const uint32_t failures =
      sink->UpdateIdentity([](ConnectionIdentity& id) { return ++id.failed_logins; });
  const auto delay = std::min<Clock::duration>(
      kFirstLoginDelay * (1u << std::min<uint32_t>(failures - 1, 6)), kMaxLoginDelay);
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([timer, sink, m, text](boost::system::error_code) { sink->Push(m, text); });
}

bool Service::NeedsLogin(const ClientSink& sink) const {
  const ConnectionIdentity id = sink.identity();
  if (!id.user.empty() || !id.offered_token.empty()) return false;
  return adapter_->Read([](const StateMachine& sm) { return sm.auth_enabled(); });
}

Response Service::AuthStatus(ClientSink& sink, const Request& request) const {
  Response r = adapter_->Read([&](const StateMachine& sm) {
    Response out;
    auto* body = out.mutable_auth_status();
    body->set_enabled(sm.auth_enabled());
    Result<std::string> caller = CallerOf(sink, sm);
    if (caller.ok() && !caller->empty()) {
      body->set_user(*caller);
      for (const std::string& role : sm.RolesOf(*caller)) body->add_roles(role);
    }
    out.mutable_header()->set_revision(sm.revision());
    return out;
  });
  r.set_id(request.id());
  router_.FillHeader(&r);
  return r;
}

bool Service::PrepareAuthWrite(const std::shared_ptr<ClientSink>& sink, Request request,
                               const std::string& user, bool text, Clock::time_point deadline) {
  auto refuse = [&](const std::string& why) {
    PushResponse(*sink, ErrorFor(request.id(), Status::InvalidArgument(why)), text);
    return true;
  };
  if (request.has_auth_set()) {
    if (!request.auth_set().signing_key().empty()) {
      return refuse("auth_set.signing_key is generated by the member; leave it empty");
    }
    if (request.auth_set().enabled()) {
      request.mutable_auth_set()->set_signing_key(crypto::RandomBytes(kSigningKeyBytes));
    }
    Route(sink, request, user, text, deadline);
    return true;
  }
  if (!request.has_user_change()) return false;
  const coord::v1::UserChangeRequest& change = request.user_change();
  if (!change.password_salt().empty() || !change.password_hash().empty() ||
      change.password_iterations() != 0) {
    return refuse("the password hash fields are filled by the member; send the password");
  }
  using Op = coord::v1::UserChangeRequest;
  if (change.op() != Op::ADD && change.op() != Op::PASSWD) {
    if (!change.password().empty()) return refuse("only ADD and PASSWD take a password");
    return false;
  }
  if (change.password().empty()) return refuse("user add and passwd need a password");
  // Hashing shares the login bound: the hashing thread's queue stays short.
  if (!TakeLoginSlot(*sink, request.id(), text)) return true;
  boost::asio::post(hash_pool_, [this, sink, request, user, text, deadline]() mutable {
    Result<PasswordHash> hash = HashPassword(request.user_change().password());
    logins_in_progress_.fetch_sub(1);
    if (!hash.ok()) {
      PushResponse(*sink, ErrorFor(request.id(), hash.status()), text);
      return;
    }
    coord::v1::UserChangeRequest* c = request.mutable_user_change();
    c->clear_password();  // never replicated
    c->set_password_salt(hash->salt);
    c->set_password_hash(hash->hash);
    c->set_password_iterations(hash->iterations);
    Route(sink, request, user, text, deadline);
  });
  return true;
}

}  // namespace coord::server
