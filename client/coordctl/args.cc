#include "args.h"

#include <charconv>
#include <cmath>
#include <set>

namespace coord::ctl {
namespace {

Status Usage(std::string message) { return Status::InvalidArgument(std::move(message)); }

// "-5" and "-0.5" are values, not flags.
bool LooksLikeFlag(std::string_view token) {
  if (token.size() < 2 || token[0] != '-') return false;
  return !(token[1] >= '0' && token[1] <= '9') && token[1] != '.';
}

// Global flags, recognized before and after the command words.
enum class Global {
  kNone,
  kEndpoints,
  kOutput,
  kTimeout,
  kCacert,
  kCert,
  kKey,
  kUser,
  kPasswordFile,
  kHelp
};

Global GlobalFlag(std::string_view name) {
  if (name == "endpoints") return Global::kEndpoints;
  if (name == "output" || name == "o") return Global::kOutput;
  if (name == "timeout") return Global::kTimeout;
  if (name == "cacert") return Global::kCacert;
  if (name == "cert") return Global::kCert;
  if (name == "key") return Global::kKey;
  if (name == "user") return Global::kUser;
  if (name == "password-file") return Global::kPasswordFile;
  if (name == "help" || name == "h") return Global::kHelp;
  return Global::kNone;
}

const FlagSpec* CommandFlag(const CommandSpec* spec, std::string_view name) {
  if (spec == nullptr) return nullptr;
  for (const FlagSpec& f : spec->flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Status ApplyGlobal(Global g, const std::string& value, GlobalOptions* out) {
  switch (g) {
    case Global::kEndpoints: {
      auto e = ParseEndpoints(value);
      if (!e.ok()) return e.status();
      out->endpoints = std::move(*e);
      return Status::Ok();
    }
    case Global::kOutput: {
      auto f = ParseOutputFormat(value);
      if (!f.ok()) return f.status();
      out->output = *f;
      return Status::Ok();
    }
    case Global::kTimeout: {
      auto d = ParseDuration("--timeout", value);
      if (!d.ok()) return d.status();
      out->timeout = *d;
      return Status::Ok();
    }
    case Global::kCacert:
    case Global::kCert:
    case Global::kKey:
      if (value.empty()) return Usage("TLS file flags need a file name");
      (g == Global::kCacert ? out->cacert : g == Global::kCert ? out->cert : out->key) = value;
      return Status::Ok();
    case Global::kUser:
      if (value.empty()) return Usage("--user needs a user name");
      out->user = value;
      return Status::Ok();
    case Global::kPasswordFile:
      if (value.empty()) return Usage("--password-file needs a file name");
      out->password_file = value;
      return Status::Ok();
    case Global::kHelp:
      out->help = true;
      return Status::Ok();
    case Global::kNone:
      break;
  }
  return Status::Internal("unreachable");
}

// Which command the words so far select: exact match, a group that needs more
// words, or nothing.
struct Lookup {
  const CommandSpec* exact = nullptr;
  bool is_prefix = false;
};

Lookup Find(const std::vector<CommandSpec>& table, const std::vector<std::string>& words) {
  Lookup l;
  for (const CommandSpec& spec : table) {
    if (spec.words.size() < words.size()) continue;
    bool match = true;
    for (size_t i = 0; i < words.size() && match; ++i) match = spec.words[i] == words[i];
    if (!match) continue;
    if (spec.words.size() == words.size()) {
      l.exact = &spec;
    } else {
      l.is_prefix = true;
    }
  }
  return l;
}

std::string Subcommands(const std::vector<CommandSpec>& table,
                        const std::vector<std::string>& words) {
  std::set<std::string_view> subs;
  for (const CommandSpec& spec : table) {
    if (spec.words.size() <= words.size()) continue;
    bool match = true;
    for (size_t i = 0; i < words.size() && match; ++i) match = spec.words[i] == words[i];
    if (match) subs.insert(spec.words[words.size()]);
  }
  std::string out;
  for (std::string_view s : subs) {
    if (!out.empty()) out += "|";
    out += s;
  }
  return out;
}

}  // namespace

std::string CommandName(const CommandSpec& spec) {
  std::string name;
  for (std::string_view w : spec.words) {
    if (!name.empty()) name += ' ';
    name += w;
  }
  return name;
}

std::optional<std::string> Invocation::Flag(std::string_view flag) const {
  auto it = flags.find(flag);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

Result<Invocation> ParseCommandLine(const std::vector<std::string>& argv,
                                    const std::vector<CommandSpec>& table) {
  Invocation inv;
  std::vector<std::string> words;  // command words seen so far
  size_t i = 0;
  bool after_dashes = false;
  for (; i < argv.size(); ++i) {
    const std::string& token = argv[i];
    if (token == "--") {
      after_dashes = true;
      ++i;
      break;
    }
    if (!LooksLikeFlag(token)) {
      if (inv.command == nullptr) {
        words.push_back(token);
        Lookup l = Find(table, words);
        if (l.exact != nullptr) {
          inv.command = l.exact;
        } else if (!l.is_prefix) {
          if (inv.global.help) break;  // "coordctl --help nonsense": just print help
          if (words.size() == 1) return Usage("unknown command \"" + token + "\"");
          words.pop_back();
          return Usage("unknown subcommand \"" + token + "\" of \"" + words[0] + "\" (expected " +
                       Subcommands(table, words) + ")");
        }
      } else {
        inv.args.push_back(token);
      }
      continue;
    }
    // A flag: "-o", "--name", "--name=value".
    std::string_view body(token);
    body.remove_prefix(body.size() > 1 && body[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const bool single_dash = token[1] != '-';
    // Single-dash spellings exist only for -o and -h.
    if (single_dash && !(body == "o" || body == "h")) {
      return Usage("unknown flag " + token + " (long flags take two dashes)");
    }
    // A command's own flag wins over a global flag of the same name: "tx begin
    // --timeout 30s" is the transaction's timeout; the request deadline is then
    // given before the command words ("coordctl --timeout 2s tx begin ...").
    const FlagSpec* f = single_dash ? nullptr : CommandFlag(inv.command, body);
    const Global g = f == nullptr ? GlobalFlag(body) : Global::kNone;
    if (g == Global::kNone && f == nullptr) {
      if (inv.command == nullptr) {
        return Usage("unknown flag " + token + " (expected a command first)");
      }
      return Usage("unknown flag " + token + " for \"" + CommandName(*inv.command) + "\"");
    }
    const bool takes_value = g != Global::kNone ? g != Global::kHelp : f->takes_value;
    std::string value;
    if (takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return Usage("flag " + token + " needs a value");
      }
    } else if (inline_value) {
      return Usage("flag --" + std::string(body) + " takes no value");
    }
    if (g != Global::kNone) {
      COORD_RETURN_IF_ERROR(ApplyGlobal(g, value, &inv.global));
    } else {
      inv.flags[std::string(body)] = std::move(value);
    }
  }
  if (inv.command == nullptr) {
    if (inv.global.help) return inv;
    if (words.empty()) return Usage("no command given (try coordctl --help)");
    return Usage("\"" + words[0] + "\" needs a subcommand (" + Subcommands(table, words) + ")");
  }
  if (after_dashes) {
    for (; i < argv.size(); ++i) {
      if (inv.command->takes_command) {
        inv.exec.push_back(argv[i]);
      } else {
        inv.args.push_back(argv[i]);
      }
    }
    if (inv.command->takes_command && inv.exec.empty()) {
      return Usage("\"--\" must be followed by a command to run");
    }
  }
  if (inv.global.help) return inv;
  const int n = static_cast<int>(inv.args.size());
  const std::string name = CommandName(*inv.command);
  if (n < inv.command->min_args) {
    return Usage(name + ": missing arguments (usage: coordctl " + name + " " +
                 std::string(inv.command->synopsis) + ")");
  }
  if (inv.command->max_args >= 0 && n > inv.command->max_args) {
    return Usage(name + ": unexpected argument \"" + inv.args[inv.command->max_args] +
                 "\" (usage: coordctl " + name + " " + std::string(inv.command->synopsis) + ")");
  }
  return inv;
}

Result<int64_t> ParseInt(std::string_view what, std::string_view text, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Usage(std::string(what) + ": \"" + std::string(text) + "\" is not an integer");
  }
  if (v < min || v > max) {
    std::string range = "must be ";
    if (max == INT64_MAX) {
      range += ">= " + std::to_string(min);
    } else {
      range += "in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    }
    return Usage(std::string(what) + ": " + std::string(text) + " " + range);
  }
  return v;
}

Result<uint64_t> ParseUint(std::string_view what, std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Usage(std::string(what) + ": \"" + std::string(text) +
                 "\" is not a non-negative integer");
  }
  return v;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view what, std::string_view text) {
  const std::string bad =
      std::string(what) + ": \"" + std::string(text) + "\" is not a duration (e.g. 500ms, 5s, 2m)";
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  const std::string_view number = text.substr(0, unit_at);
  const std::string_view unit = text.substr(unit_at);
  if (number.empty() || number.find('.') != number.rfind('.') || number == ".") return Usage(bad);
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return Usage(bad);
  }
  // std::from_chars for double is in libstdc++ 11+; the number is [0-9.]+ only.
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return Usage(bad);
  const double ms = value * scale;
  constexpr double kMax = 30.0 * 24 * 3'600'000;
  if (!(ms >= 1) || ms > kMax) {
    return Usage(std::string(what) + ": " + std::string(text) +
                 " out of range (at least 1ms, at most 30 days)");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

Result<std::vector<std::string>> ParseEndpoints(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    const size_t colon = item.rfind(':');
    if (item.empty() || colon == std::string_view::npos || colon == 0) {
      return Usage("--endpoints: \"" + std::string(item) + "\" is not HOST:PORT");
    }
    auto port = ParseInt("--endpoints port", item.substr(colon + 1), 1, 65535);
    if (!port.ok()) {
      return Usage("--endpoints: \"" + std::string(item) + "\" has a bad port (1-65535)");
    }
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "text") return OutputFormat::kText;
  if (text == "json") return OutputFormat::kJson;
  return Usage("-o: \"" + std::string(text) + "\" is not an output format (text|json)");
}

Result<std::vector<std::string>> ParseNameList(std::string_view what, std::string_view text) {
  std::vector<std::string> out;
  std::set<std::string, std::less<>> seen;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty())
      return Usage(std::string(what) + ": empty name in \"" + std::string(text) + "\"");
    if (!seen.emplace(item).second) {
      return Usage(std::string(what) + ": \"" + std::string(item) + "\" is listed twice");
    }
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace coord::ctl
