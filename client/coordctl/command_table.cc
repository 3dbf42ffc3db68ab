#include "command_table.h"

namespace coord::ctl {

const std::vector<CommandSpec>& CommandTable() {
  // Flags shared by several commands.
  static const FlagSpec kTtl{"ttl", true, "S", "session TTL (e.g. 10, 10s, 500ms; default 10s)"};
  static const FlagSpec kCount{"count", true, "N", "exit after N events (for scripts)"};
  static const FlagSpec kNewPassword{"new-password-file", true, "F",
                                     "read the new password from the first line of F"};
  static const std::vector<CommandSpec> table = {
      {{"put"},
       "KEY VALUE",
       "write VALUE under KEY",
       {{"session", true, "ID", "attach the key to session ID (deleted when it ends)"},
        {"sequential", false, "", "append a 20-digit increasing suffix to KEY"}},
       2,
       2},
      {{"get"},
       "KEY",
       "read KEY (or every key under the prefix KEY)",
       {{"prefix", false, "", "every key starting with KEY (\"\" = all keys)"},
        {"rev", true, "N", "read as of revision N"},
        {"serializable", false, "", "answer from the member's own state (may be stale)"},
        {"limit", true, "N", "at most N keys"},
        {"keys-only", false, "", "print keys without values"},
        {"count-only", false, "", "print only the number of keys"}},
       1,
       1},
      {{"del"},
       "KEY",
       "delete KEY (or every key under the prefix KEY)",
       {{"prefix", false, "", "every key starting with KEY"}},
       1,
       1},
      {{"cas"},
       "KEY EXPECTED_VERSION VALUE",
       "write VALUE if KEY's version is EXPECTED_VERSION (0: KEY must not exist)",
       {},
       3,
       3},
      {{"watch"},
       "KEY",
       "print changes of KEY until interrupted",
       {{"prefix", false, "", "every key starting with KEY"},
        {"rev", true, "N", "start at revision N (replays history)"},
        {"prev-kv", false, "", "include the previous value of each changed key"},
        kCount},
       1,
       1},
      {{"session", "create"}, "", "create a session (lease)", {kTtl}, 0, 0},
      {{"session", "keepalive"}, "ID", "renew session ID once", {}, 1, 1},
      {{"session", "close"}, "ID", "close session ID (deletes its ephemeral keys)", {}, 1, 1},
      {{"session", "list"},
       "",
       "list the live sessions (in pages, by id)",
       {{"after", true, "ID", "start after session ID (the next page)"},
        {"limit", true, "N", "at most N sessions (default 1000)"}},
       0,
       0},
      {{"lock"},
       "NAME [-- CMD ARGS...]",
       "hold lock NAME (while CMD runs, or until interrupted)",
       {kTtl,
        {"shared", false, "", "take a shared (read) lock"},
        {"try", false, "", "fail with exit 4 instead of waiting if the lock is held"},
        {"wait-timeout", true, "D", "give up waiting after D (exit 5)"}},
       1,
       1,
       /*takes_command=*/true},
      {{"elect"},
       "NAME VALUE | --observe NAME",
       "campaign in election NAME with VALUE and hold leadership until interrupted",
       {kTtl, {"observe", false, "", "print every change of leader of NAME"}, kCount},
       1,
       2},
      {{"tx", "begin"},
       "--participants A,B",
       "begin a 2PC transaction",
       {{"participants", true, "A,B", "the participants (required)"},
        {"timeout", true, "S", "abort unless every participant voted YES by then"},
        {"payload", true, "P", "payload delivered with the prepare"}},
       0,
       0},
      {{"tx", "vote"}, "TXID PARTICIPANT yes|no", "vote on a transaction", {}, 3, 3},
      {{"tx", "ack"}, "TXID PARTICIPANT", "acknowledge a decision", {}, 2, 2},
      {{"tx", "get"}, "TXID", "show a transaction", {}, 1, 1},
      {{"tx", "list"},
       "",
       "list transactions",
       {{"participant", true, "P", "only what participant P still owes"},
        {"limit", true, "N", "at most N transactions"}},
       0,
       0},
      {{"member", "list"}, "", "list the members", {}, 0, 0},
      {{"member", "add"},
       "NAME PEERHOST:PORT",
       "add a member",
       {{"learner", false, "", "add as a non-voting learner"},
        {"client-address", true, "H:P", "the member's client address (for the status page)"}},
       2,
       2},
      {{"member", "promote"},
       "NAME",
       "promote a learner to voter (once it has caught up)",
       {{"force", false, "", "promote even if its log is behind"}},
       1,
       1},
      {{"member", "remove"}, "NAME", "remove a member", {}, 1, 1},
      {{"status"}, "", "show the leader and every member's Raft state", {}, 0, 0},
      {{"user", "add"},
       "NAME",
       "add a user (the password: --new-password-file, or the first line of stdin)",
       {kNewPassword},
       1,
       1},
      {{"user", "delete"}, "NAME", "delete a user (ends its logins)", {}, 1, 1},
      {{"user", "passwd"},
       "NAME",
       "change a user's password (ends its logins)",
       {kNewPassword},
       1,
       1},
      {{"user", "grant-role"}, "NAME ROLE", "give user NAME the role ROLE", {}, 2, 2},
      {{"user", "revoke-role"}, "NAME ROLE", "take role ROLE from user NAME", {}, 2, 2},
      {{"user", "list"}, "", "list the users and their roles", {}, 0, 0},
      {{"role", "add"}, "NAME", "add a role (with no rights yet)", {}, 1, 1},
      {{"role", "delete"}, "NAME", "delete a role (and take it from every user)", {}, 1, 1},
      {{"role", "grant"},
       "NAME keys|locks|elections|tpc read|write|readwrite PREFIX",
       "let role NAME read and/or write the names under PREFIX (\"\" = all)",
       {},
       4,
       4},
      {{"role", "revoke"},
       "NAME keys|locks|elections|tpc read|write|readwrite PREFIX",
       "take a permission from role NAME",
       {},
       4,
       4},
      {{"role", "list"}, "", "list the roles and their permissions", {}, 0, 0},
      {{"auth", "enable"},
       "",
       "turn access control on (needs user root with role root)",
       {},
       0,
       0},
      {{"auth", "disable"}, "", "turn access control off (ends every login)", {}, 0, 0},
      {{"auth", "status"}, "", "whether auth is on, and who you are", {}, 0, 0},
      {{"snapshot", "save"},
       "FILE",
       "save every key (at one revision) to FILE as JSON lines",
       {},
       1,
       1},
  };
  return table;
}

std::string CommandUsage(const CommandSpec& spec) {
  std::string out = "  coordctl " + CommandName(spec);
  if (!spec.synopsis.empty()) out += " " + std::string(spec.synopsis);
  out += "\n      " + std::string(spec.summary) + "\n";
  for (const FlagSpec& f : spec.flags) {
    std::string flag = "--" + std::string(f.name);
    if (f.takes_value) flag += " " + std::string(f.value_name);
    out += "      " + flag;
    if (flag.size() < 20) out += std::string(20 - flag.size(), ' ');
    out += "  " + std::string(f.help) + "\n";
  }
  return out;
}

std::string UsageText() {
  std::string out =
      "coordctl: the command line client of Coord\n"
      "\n"
      "usage: coordctl [GLOBAL FLAGS] COMMAND [FLAGS] [ARGS]\n"
      "\n"
      "global flags (anywhere before \"--\"):\n"
      "  --endpoints H:P,...   members to talk to (default 127.0.0.1:7420; with failover)\n"
      "  -o, --output FORMAT   text (default) or json (one JSON object per line)\n"
      "  --timeout D           deadline of each request (default 5s; e.g. 500ms, 2s)\n"
      "  --cacert FILE         TLS: the CA of the members' certificates (wss://)\n"
      "  --cert FILE, --key FILE  TLS: this client's certificate and key (mutual TLS)\n"
      "  --user NAME           log in as NAME (ensembles with auth enabled)\n"
      "  --password-file FILE  the password of --user (first line of FILE)\n"
      "  -h, --help            this help\n"
      "\n"
      "commands:\n";
  for (const CommandSpec& spec : CommandTable()) out += CommandUsage(spec);
  out +=
      "\n"
      "exit status: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict or compare failed,\n"
      "5 unavailable or timeout, 6 session lost or expired; 128+N interrupted by signal N\n"
      "while waiting; lock NAME -- CMD exits with CMD's status. See docs/cli.md.\n";
  return out;
}

}  // namespace coord::ctl
