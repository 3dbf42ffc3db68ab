#include "options.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace coord::bench {

const char kUsage[] =
    "usage: coord-bench MODE [flags]\n"
    "\n"
    "Closed-loop benchmark of a Coord ensemble over its WebSocket API (binary\n"
    "protobuf frames). Each client has its own connection and sends its next request\n"
    "only after the previous reply; clients are spread round-robin over the\n"
    "endpoints. Only operations that start and finish inside the measured window\n"
    "(after the warmup, for --duration seconds) count. Prints one JSON line:\n"
    "  {\"system\":\"coord\",\"workload\":W,\"clients\":N,\"ops\":N,\"secs\":S,\"ops_per_s\":X,\n"
    "   \"mean_ms\":..,\"p50_ms\":..,\"p90_ms\":..,\"p99_ms\":..,\"p999_ms\":..,\"max_ms\":..,\n"
    "   \"errors\":N}            (failover adds \"unavailable_ms\")\n"
    "\n"
    "modes:\n"
    "  write                 put a new distinct key per operation (workload \"write\")\n"
    "  read                  get one of --read-keys preloaded keys at random; linearizable\n"
    "                        (workload \"read\"), or with --serializable answered by the\n"
    "                        member itself (workload \"read-serializable\")\n"
    "  fill --count N        put N distinct keys as fast as possible, then stop; no\n"
    "                        warmup; secs is the time to load them all (workload \"fill\")\n"
    "  sessions --count N    create N sessions (ttl 1 h, never kept alive) as fast as\n"
    "                        possible, then stop; like fill (workload \"sessions\")\n"
    "  failover --kill-pid PID --kill-endpoint H:P\n"
    "                        write continuously through every endpoint except H:P (the\n"
    "                        client address of process PID); after the warmup send\n"
    "                        SIGKILL to PID; unavailable_ms is the time from the kill to\n"
    "                        the completion of the first successful write that started\n"
    "                        after it (-1 if none did). Kill the leader to measure an\n"
    "                        election; see the `leader` mode.\n"
    "  lock                  each client acquires (waiting, FIFO) and releases ONE lock\n"
    "                        name shared by all clients; one operation = acquire sent\n"
    "                        to release replied, including the wait for the pushed\n"
    "                        grant (workload \"lock\"). Each client holds a session\n"
    "                        (ttl 10 s, keepalive every ttl/3 between cycles, not\n"
    "                        counted); --clients 1 is uncontended\n"
    "  leader                print the client address of the current leader (helper)\n"
    "\n"
    "flags:\n"
    "  --endpoints H:P,...   member client addresses, IPv4 literals (default\n"
    "                        127.0.0.1:7420)\n"
    "  --clients N           concurrent clients = connections (default 1)\n"
    "  --warmup S            seconds before the measured window (default 1)\n"
    "  --duration S          seconds of the measured window (default 5)\n"
    "  --value-size B        bytes per written value (default 256)\n"
    "  --serializable        read: serializable (local) reads\n"
    "  --count N             fill: number of keys; sessions: number of sessions\n"
    "  --kill-pid PID        failover: process to kill\n"
    "  --kill-endpoint H:P   failover: that process's client address\n"
    "  --read-keys N         read: keys preloaded before the run (default 1000)\n"
    "  --timeout-ms MS       server-side deadline of each request (default 5000); the\n"
    "                        client drops the connection 2 s after it\n"
    "  --io-threads N        threads driving the connections (default 1)\n"
    "  --help                this text\n"
    "\n"
    "Errors (non-OK replies, timeouts, dropped connections) count in \"errors\"; a\n"
    "client whose connection drops reconnects to the next endpoint and continues.\n"
    "Writes carry a random client_id and increasing sequence (exactly-once).\n"
    "Exit status: 0 done, 1 the run failed (cannot connect, ...), 2 bad flags.\n";

namespace {

Result<int64_t> ParseInt(const std::string& flag, const std::string& value, int64_t lo,
                         int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || errno != 0 || *end != '\0' || v < lo || v > hi) {
    return Status::InvalidArgument(flag + " must be an integer in [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "], got '" + value + "'");
  }
  return static_cast<int64_t>(v);
}

Result<double> ParseSeconds(const std::string& flag, const std::string& value, double lo) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v < lo || v > 86400) {
    std::ostringstream msg;
    msg << flag << " must be a number of seconds in [" << lo << ", 86400], got '" << value << "'";
    return Status::InvalidArgument(msg.str());
  }
  return v;
}

Result<Mode> ParseMode(const std::string& s) {
  if (s == "write") return Mode::kWrite;
  if (s == "read") return Mode::kRead;
  if (s == "fill") return Mode::kFill;
  if (s == "sessions") return Mode::kSessions;
  if (s == "failover") return Mode::kFailover;
  if (s == "leader") return Mode::kLeader;
  if (s == "lock") return Mode::kLock;
  return Status::InvalidArgument("unknown mode '" + s +
                                 "' (write, read, fill, sessions, failover, leader, lock; see --help)");
}

}  // namespace

Status ValidateEndpoint(const std::string& endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("endpoint must be HOST:PORT, got '" + endpoint + "'");
  }
  in_addr addr{};
  if (inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr) != 1) {
    return Status::InvalidArgument("endpoint host must be an IPv4 address, got '" + endpoint + "'");
  }
  auto port = ParseInt("endpoint port", endpoint.substr(colon + 1), 1, 65535);
  if (!port.ok()) {
    return Status::InvalidArgument("endpoint port must be in [1, 65535], got '" + endpoint + "'");
  }
  return Status::Ok();
}

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    }
  }
  if (args.empty()) return Status::InvalidArgument("missing MODE (see --help)");
  auto mode = ParseMode(args[0]);
  if (!mode.ok()) return mode.status();
  o.mode = *mode;
  bool have_count = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_inline_value = false;
    if (flag.rfind("--", 0) != 0) {
      return Status::InvalidArgument("unexpected argument '" + flag + "'");
    }
    if (const size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    if (flag == "--serializable") {
      if (has_inline_value) return Status::InvalidArgument("--serializable takes no value");
      o.serializable = true;
      continue;
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return Status::InvalidArgument(flag + " needs a value");
      value = args[++i];
    }
    if (flag == "--endpoints") {
      o.endpoints.clear();
      std::stringstream ss(value);
      std::string e;
      while (std::getline(ss, e, ',')) {
        COORD_RETURN_IF_ERROR(ValidateEndpoint(e));
        o.endpoints.push_back(e);
      }
      if (o.endpoints.empty()) return Status::InvalidArgument("--endpoints must not be empty");
    } else if (flag == "--clients") {
      auto v = ParseInt(flag, value, 1, 1000);
      if (!v.ok()) return v.status();
      o.clients = static_cast<int>(*v);
    } else if (flag == "--warmup") {
      auto v = ParseSeconds(flag, value, 0);
      if (!v.ok()) return v.status();
      o.warmup_s = *v;
    } else if (flag == "--duration") {
      auto v = ParseSeconds(flag, value, 0.1);
      if (!v.ok()) return v.status();
      o.duration_s = *v;
    } else if (flag == "--value-size") {
      auto v = ParseInt(flag, value, 0, 1 << 20);
      if (!v.ok()) return v.status();
      o.value_size = static_cast<int>(*v);
    } else if (flag == "--count") {
      auto v = ParseInt(flag, value, 1, int64_t{1} << 40);
      if (!v.ok()) return v.status();
      o.count = *v;
      have_count = true;
    } else if (flag == "--kill-pid") {
      auto v = ParseInt(flag, value, 2, 1 << 30);
      if (!v.ok()) return v.status();
      o.kill_pid = static_cast<pid_t>(*v);
    } else if (flag == "--kill-endpoint") {
      COORD_RETURN_IF_ERROR(ValidateEndpoint(value));
      o.kill_endpoint = value;
    } else if (flag == "--read-keys") {
      auto v = ParseInt(flag, value, 1, 10'000'000);
      if (!v.ok()) return v.status();
      o.read_keys = static_cast<int>(*v);
    } else if (flag == "--timeout-ms") {
      auto v = ParseInt(flag, value, 1, 600'000);
      if (!v.ok()) return v.status();
      o.timeout_ms = static_cast<int>(*v);
    } else if (flag == "--io-threads") {
      auto v = ParseInt(flag, value, 1, 64);
      if (!v.ok()) return v.status();
      o.io_threads = static_cast<int>(*v);
    } else {
      return Status::InvalidArgument("unknown flag '" + flag + "' (see --help)");
    }
  }
  const bool counted = o.mode == Mode::kFill || o.mode == Mode::kSessions;
  if (counted && !have_count) {
    return Status::InvalidArgument("fill and sessions need --count N");
  }
  if (!counted && have_count) {
    return Status::InvalidArgument("--count applies to fill and sessions only");
  }
  if (o.serializable && o.mode != Mode::kRead) {
    return Status::InvalidArgument("--serializable applies to read only");
  }
  if (o.mode == Mode::kFailover) {
    if (o.kill_pid == 0) return Status::InvalidArgument("failover needs --kill-pid PID");
    if (o.kill_endpoint.empty()) {
      return Status::InvalidArgument("failover needs --kill-endpoint H:P (PID's client address)");
    }
    size_t others = 0;
    for (const std::string& e : o.endpoints) others += e != o.kill_endpoint;
    if (others == 0) {
      return Status::InvalidArgument("failover needs an endpoint other than --kill-endpoint");
    }
  } else if (o.kill_pid != 0 || !o.kill_endpoint.empty()) {
    return Status::InvalidArgument("--kill-pid and --kill-endpoint apply to failover only");
  }
  return o;
}

}  // namespace coord::bench
