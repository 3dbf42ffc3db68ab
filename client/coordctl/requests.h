// Building the wire requests of coordctl's one-shot commands from a parsed
// command line. Pure functions: no I/O, so every flag and argument check is unit
// tested without a server, and a bad argument fails before coordctl connects.
//
// Every error is kInvalidArgument with a one-line message naming the argument;
// the caller reports it as a usage error (exit 2).
#pragma once

#include <cstdint>
#include <string>

#include "args.h"
#include "coord.pb.h"
#include "coord/status.h"

namespace coord::ctl {

using coord::v1::Request;

// put KEY VALUE [--session ID] [--sequential]
Result<Request> BuildPut(const Invocation& inv);
// get KEY [--prefix] [--rev N] [--serializable] [--limit N] [--keys-only] [--count-only]
Result<Request> BuildGet(const Invocation& inv);
// del KEY [--prefix]
Result<Request> BuildDelete(const Invocation& inv);
// cas KEY EXPECTED_VERSION VALUE: a txn comparing KEY's version (0 = absent) that
// puts VALUE on success and reads KEY on failure (to report its actual version).
Result<Request> BuildCas(const Invocation& inv);
// watch KEY [--prefix] [--rev N] [--prev-kv]
Result<Request> BuildWatch(const Invocation& inv);
// The positive --count N of watch/elect --observe, or 0 (unbounded) when absent.
Result<int64_t> EventCount(const Invocation& inv);

// session create [--ttl S] / keepalive ID / close ID / list
Result<Request> BuildSessionCreate(const Invocation& inv);
Result<Request> BuildSessionKeepAlive(const Invocation& inv);
Result<Request> BuildSessionClose(const Invocation& inv);
Result<Request> BuildSessionList(const Invocation& inv);
// The session TTL of --ttl in ms (default 10 s), for session create, lock, elect.
Result<int64_t> SessionTtlMs(const Invocation& inv);

// tx begin --participants A,B [--timeout S] [--payload P]
Result<Request> BuildTxBegin(const Invocation& inv);
// tx vote TXID PARTICIPANT yes|no
Result<Request> BuildTxVote(const Invocation& inv);
// tx ack TXID PARTICIPANT
Result<Request> BuildTxAck(const Invocation& inv);
// tx get TXID
Result<Request> BuildTxGet(const Invocation& inv);
// tx list [--participant P] [--limit N]
Result<Request> BuildTxList(const Invocation& inv);

// member list / add NAME PEERHOST:PORT [--learner] [--client-address H:P] /
// promote NAME / remove NAME
Result<Request> BuildMemberAdd(const Invocation& inv);
Result<Request> BuildMemberPromote(const Invocation& inv);
Result<Request> BuildMemberRemove(const Invocation& inv);

// user add|passwd NAME (with `password`: the caller reads it, see cmd_auth.cc),
// user delete NAME, user grant-role|revoke-role NAME ROLE, user list
Result<Request> BuildUserChange(const Invocation& inv, const std::string& password);
// role add|delete NAME, role grant|revoke NAME SPACE ACCESS PREFIX, role list
Result<Request> BuildRoleChange(const Invocation& inv);
// The Permission of "keys|locks|elections|tpc", "read|write|readwrite", PREFIX.
Result<coord::v1::Permission> ParsePermission(const std::string& space, const std::string& access,
                                              const std::string& prefix);

}  // namespace coord::ctl
