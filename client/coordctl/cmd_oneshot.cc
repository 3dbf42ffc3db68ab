// The request/response commands: build the request (usage errors first), call,
// map the reply's special cases to exit codes, print.
#include <functional>
#include <map>

#include "command_table.h"
#include "commands.h"
#include "render.h"
#include "requests.h"

namespace coord::ctl {
namespace {

using Builder = std::function<Result<Request>(const Invocation&)>;

template <typename Mutator>
Builder Empty(Mutator mutate) {
  return [mutate](const Invocation&) -> Result<Request> {
    Request r;
    mutate(&r);
    return r;
  };
}

const std::map<std::string, Builder, std::less<>>& Builders() {
  static const std::map<std::string, Builder, std::less<>> builders = {
      {"put", BuildPut},
      {"get", BuildGet},
      {"del", BuildDelete},
      {"cas", BuildCas},
      {"session create", BuildSessionCreate},
      {"session keepalive", BuildSessionKeepAlive},
      {"session close", BuildSessionClose},
      {"session list", BuildSessionList},
      {"tx begin", BuildTxBegin},
      {"tx vote", BuildTxVote},
      {"tx ack", BuildTxAck},
      {"tx get", BuildTxGet},
      {"tx list", BuildTxList},
      {"member list", Empty([](Request* r) { r->mutable_member_list(); })},
      {"member add", BuildMemberAdd},
      {"member promote", BuildMemberPromote},
      {"member remove", BuildMemberRemove},
      {"status", Empty([](Request* r) { r->mutable_status(); })},
  };
  return builders;
}

}  // namespace

Outcome RunOneShot(const Invocation& inv, Context& ctx) {
  const std::string name = CommandName(*inv.command);
  auto it = Builders().find(name);
  if (it == Builders().end()) return {kExitError, "command \"" + name + "\" is not implemented"};
  Result<Request> request = it->second(inv);
  if (!request.ok()) return UsageError(request.status().message());
  Result<coord::v1::Response> response = ctx.Call(*request);
  if (!response.ok()) return FromStatus(response.status());

  // A single key that does not exist is "not found" (exit 3), so that scripts can
  // test for it; an empty prefix is simply empty.
  if (request->has_range() && !request->range().prefix() && !request->range().count_only() &&
      response->range().kvs_size() == 0) {
    return {kExitNotFound, "key \"" + request->range().key() + "\" not found"};
  }
  if (request->has_txn() && !response->txn().succeeded()) {
    return {kExitConflict,
            CasFailureMessage(inv.args[0], request->txn().compare(0).number(), response->txn())};
  }
  const std::string out = RenderResponse(*request, *response, ctx.format());
  if (!out.empty()) ctx.printer().Emit(out);
  return Outcome::Ok();
}

}  // namespace coord::ctl
