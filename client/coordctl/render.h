// Rendering server replies and events as coordctl output (docs/cli.md, "Output").
//
// Pure functions of a message and the output format: text for people, or one
// JSON object (one line) for scripts. A text rendering may span several lines
// (get prints a key line and a value line per key) or be empty (get of an empty
// prefix); a JSON rendering is always exactly one object.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "args.h"
#include "coord.pb.h"

namespace coord::ctl {

// The reply to a one-shot command (put, get, del, cas, session create / keepalive /
// close / list, tx *, member *, status), by its body; `request` is the request it
// answers (text output depends on e.g. get --keys-only). JSON: the body's fields
// plus "header" (ResponseJson in output.h). Text: see docs/cli.md.
std::string RenderResponse(const coord::v1::Request& request, const coord::v1::Response& response,
                           OutputFormat format);

// One watch event. JSON: the Event message ({"type","kv","prevKv"?}).
// Text: "PUT KEY REV" + "\n" + value, or "DELETE KEY REV".
std::string RenderEvent(const coord::v1::Event& event, OutputFormat format);

// An election's leader (elect when this process leads; elect --observe for every
// change). JSON: the ElectionLeader message. Text: "NAME leader VALUE term T session
// S", or "NAME no leader" for session 0.
std::string RenderLeader(const coord::v1::ElectionLeader& leader, OutputFormat format);

// A held lock (lock without a command). JSON: {"name","session","token","shared"}.
// Text: "NAME token T session S" (+ " shared").
std::string RenderLockHeld(const std::string& name, int64_t session, int64_t token, bool shared,
                           OutputFormat format);

// The summary of snapshot save. JSON: {"file","revision","keys","bytes"}.
std::string RenderSnapshotSaved(const std::string& file, int64_t revision, int64_t keys,
                                int64_t bytes, OutputFormat format);

// The one-line message of a failed cas (the failure branch's range tells the
// actual version; 0 = the key does not exist).
std::string CasFailureMessage(const std::string& key, int64_t expected_version,
                              const coord::v1::TxnResponse& txn);

// Short names used by the text renderings ("PREPARING", "YES", ...).
std::string_view TpcStateName(coord::v1::TpcState state);
std::string_view TpcVoteName(coord::v1::TpcVote vote);

}  // namespace coord::ctl
