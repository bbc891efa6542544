#include <algorithm>
#include "config.hpp"

#include "cors.hpp"

#include <charconv>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>

#include "client_address.hpp"
#include "database_url.hpp"

extern char** environ;  // NOLINT: POSIX

namespace chatd {

namespace {

using chat::Error;
using chat::Result;
using chat::Status;

constexpr std::int64_t kMaxThreads = 16384;
constexpr std::int64_t kMaxBodyLimit = std::int64_t{1} << 32;    // 4 GiB: anything larger is a typo
constexpr std::int64_t kMaxTtlSeconds = 10LL * 366 * 24 * 3600;  // ten years

// A strict decimal: digits only, no sign, no spaces, no trailing text.
std::optional<std::int64_t> parse_int(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

// "'<value>' <rest>", built by appending (GCC 12 warns falsely on "'" + std::string).
std::string quoted(std::string_view value, std::string_view rest) {
  std::string m;
  m.reserve(value.size() + rest.size() + 3);
  m += '\'';
  m += value;
  m += "' ";
  m += rest;
  return m;
}

Error bad(std::string_view where, std::string message) {
  std::string m(where);
  m += ": ";
  m += message;
  return Error::invalid(std::string(where), std::move(m));
}

Result<std::int64_t> parse_ranged(std::string_view where, std::string_view value, std::int64_t lo,
                                  std::int64_t hi, std::string_view what) {
  auto v = parse_int(value);
  if (!v || *v < lo || *v > hi) {
    std::string rest = "is not ";
    rest += what;
    rest += " (";
    rest += std::to_string(lo);
    rest += '-';
    rest += std::to_string(hi);
    rest += ')';
    return bad(where, quoted(value, rest));
  }
  return *v;
}

// Every flag: its name, whether the server and the token subcommand take it,
// whether the environment may set it, and how it lands in the Invocation.
struct Flag {
  std::string_view name;  // without the leading "--"
  bool serve;
  bool token;
  bool from_env;
  std::function<Status(Invocation&, std::string_view where, std::string_view value)> apply;
};

Status non_empty(std::string_view where, std::string_view value, std::string& out) {
  if (value.empty()) return bad(where, "must not be empty");
  out = std::string(value);
  return {};
}

Status parse_bool(std::string_view where, std::string_view value, bool& out) {
  if (value == "true" || value == "1") {
    out = true;
  } else if (value == "false" || value == "0") {
    out = false;
  } else {
    return bad(where, quoted(value, "is not true or false"));
  }
  return {};
}

// --rate-limit-<key>-<class> RATE/UNIT:BURST | 0
Flag rate_flag(std::string_view name, RateKey key, RateClass c) {
  return {name, true, false, true, [key, c](Invocation& inv, std::string_view w, std::string_view v) -> Status {
            auto l = parse_rate_limit(w, v);
            if (!l) return l.error();
            inv.config.rate_limits.at(key, c) = *l;
            return {};
          }};
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = {
      {"host", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) { return non_empty(w, v, inv.config.host); }},
      {"port", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto p = parse_ranged(w, v, 0, 65535, "a port");
         if (!p) return p.error();
         inv.config.port = static_cast<int>(*p);
         return {};
       }},
      {"db", true, true, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         if (is_postgres_db(v)) CHAT_RETURN_IF_ERROR(check_postgres_db(w, v));
         return non_empty(w, v, inv.config.db);
       }},
      {"db-connections", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 1000, "a connection count");
         if (!n) return n.error();
         inv.config.db_connections = static_cast<int>(*n);
         return {};
       }},
      {"sqlite-cache-mib", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 65536, "a size in MiB");
         if (!n) return n.error();
         inv.config.sqlite_cache_mib = static_cast<int>(*n);
         return {};
       }},
      {"jwt-secret", true, true, true,
       [](Invocation& inv, std::string_view w, std::string_view v) {
         return non_empty(w, v, inv.config.jwt_secret);
       }},
      {"llm", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         if (v == "echo") {
           inv.config.llm = LlmKind::kEcho;
         } else if (v == "openai") {
           inv.config.llm = LlmKind::kOpenAi;
         } else {
           return bad(w, quoted(v, "is not a provider (echo or openai)"));
         }
         return {};
       }},
      {"llm-base-url", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
           return bad(w, quoted(v, "is not an http:// or https:// URL"));
         }
         inv.config.llm_base_url = std::string(v);
         return {};
       }},
      {"llm-model", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) {
         return non_empty(w, v, inv.config.llm_model);
       }},
      {"llm-echo-delay-ms", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 0, 60'000, "a number of milliseconds");
         if (!n) return n.error();
         inv.config.llm_echo_delay = std::chrono::milliseconds(*n);
         return {};
       }},
      {"threads", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, kMaxThreads, "a thread count");
         if (!n) return n.error();
         inv.config.threads = static_cast<int>(*n);
         return {};
       }},
      {"max-streams", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, kMaxThreads, "a stream count");
         if (!n) return n.error();
         inv.config.max_streams = static_cast<int>(*n);
         return {};
       }},
      {"max-body-bytes", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, kMaxBodyLimit, "a byte count");
         if (!n) return n.error();
         inv.config.max_body_bytes = static_cast<std::size_t>(*n);
         return {};
       }},
      {"max-page-bytes", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 0, kMaxBodyLimit, "a byte count");
         if (!n) return n.error();
         inv.config.max_page_bytes = static_cast<std::size_t>(*n);
         return {};
       }},
      {"request-timeout", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 3600, "a number of seconds");
         if (!n) return n.error();
         inv.config.request_timeout_seconds = static_cast<int>(*n);
         return {};
       }},
      {"max-connections", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 10'000'000, "a connection count");
         if (!n) return n.error();
         inv.config.max_connections = static_cast<int>(*n);
         return {};
       }},
      {"max-connections-per-address", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 10'000'000, "a connection count");
         if (!n) return n.error();
         inv.config.max_connections_per_address = static_cast<int>(*n);
         return {};
       }},
      {"trusted-proxies", true, false, true,
       [](Invocation& inv, std::string_view, std::string_view v) -> Status {
         auto parsed = TrustedProxies::parse(v);
         if (!parsed.ok()) return parsed.error();
         inv.config.trusted_proxies = std::string(v);
         return {};
       }},
      {"public-session-list", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         if (v == "true" || v == "1") {
           inv.config.public_session_list = true;
         } else if (v == "false" || v == "0") {
           inv.config.public_session_list = false;
         } else {
           return bad(w, quoted(v, "is not true or false"));
         }
         return {};
       }},
      {"no-access-log", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         bool off = false;
         CHAT_RETURN_IF_ERROR(parse_bool(w, v, off));
         inv.config.access_log = !off;
         return {};
       }},
      {"seed001-client-roles", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         return parse_bool(w, v, inv.config.seed001_client_roles);
       }},
      // ---- rate limits, per-address stream shares, /metrics access (issue 9)
      {"no-rate-limits", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         bool off = false;
         CHAT_RETURN_IF_ERROR(parse_bool(w, v, off));
         inv.config.rate_limits.enabled = !off;
         return {};
       }},
      rate_flag("rate-limit-address-writes", RateKey::kAddress, RateClass::kWrite),
      rate_flag("rate-limit-address-creates", RateKey::kAddress, RateClass::kCreate),
      rate_flag("rate-limit-address-model-calls", RateKey::kAddress, RateClass::kModel),
      rate_flag("rate-limit-user-writes", RateKey::kPrincipal, RateClass::kWrite),
      rate_flag("rate-limit-user-creates", RateKey::kPrincipal, RateClass::kCreate),
      rate_flag("rate-limit-user-model-calls", RateKey::kPrincipal, RateClass::kModel),
      {"rate-limit-max-keys", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 100, 10'000'000, "a key count");
         if (!n) return n.error();
         inv.config.rate_limits.max_keys = static_cast<std::size_t>(*n);
         return {};
       }},
      {"max-streams-per-address", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, kMaxThreads, "a stream count");
         if (!n) return n.error();
         inv.config.max_streams_per_address = static_cast<int>(*n);
         return {};
       }},
      {"max-event-streams", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 10'000'000, "an event stream count");
         if (!n) return n.error();
         inv.config.max_event_streams = static_cast<int>(*n);
         return {};
       }},
      {"max-event-streams-per-address", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 10'000'000, "an event stream count");
         if (!n) return n.error();
         inv.config.max_event_streams_per_address = static_cast<int>(*n);
         return {};
       }},
      {"public-metrics", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) {
         return parse_bool(w, v, inv.config.public_metrics);
       }},
      // ---- Browser front ends (issue 12)
      {"cors-origins", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto origins = parse_cors_origins(v);
         if (!origins) return bad(w, origins.error().message);
         inv.config.cors_origins = std::move(*origins);
         return {};
       }},
      // ---- LLM provider and token counting
      {"llm-api-key-env", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) {
         return non_empty(w, v, inv.config.llm_api_key_env);
       }},
      {"llm-temperature", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         double t = -1;
         auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
         if (v.empty() || ec != std::errc{} || ptr != v.data() + v.size() || !(t >= 0.0 && t <= 2.0))
           return bad(w, quoted(v, "is not a temperature (0-2)"));
         inv.config.llm_temperature = t;
         return {};
       }},
      {"llm-max-tokens", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 1'000'000, "a token count");
         if (!n) return n.error();
         inv.config.llm_max_tokens = *n;
         return {};
       }},
      {"llm-timeout", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 3600, "a number of seconds");
         if (!n) return n.error();
         inv.config.llm_timeout_seconds = static_cast<int>(*n);
         return {};
       }},
      // ---- Model-call bounds (issue 9)
      {"llm-max-concurrent", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 0, 100'000, "a number of calls (0: no bound)");
         if (!n) return n.error();
         inv.config.llm_max_concurrent = static_cast<int>(*n);
         return {};
       }},
      {"llm-max-concurrent-per-address", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 0, 100'000, "a number of calls (0: no share)");
         if (!n) return n.error();
         inv.config.llm_max_concurrent_per_address = static_cast<int>(*n);
         return {};
       }},
      {"llm-deadline", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 86'400, "a number of seconds");
         if (!n) return n.error();
         inv.config.llm_deadline_seconds = static_cast<int>(*n);
         return {};
       }},
      {"llm-first-byte-timeout", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, 86'400, "a number of seconds");
         if (!n) return n.error();
         inv.config.llm_first_byte_timeout_seconds = static_cast<int>(*n);
         return {};
       }},
      {"llm-max-reply-bytes", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1024, std::int64_t{64} << 20, "a number of bytes");
         if (!n) return n.error();
         inv.config.llm_max_reply_bytes = static_cast<std::size_t>(*n);
         return {};
       }},
      {"tokenizer", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) { return non_empty(w, v, inv.config.tokenizer); }},
      {"tokenizer-encoding", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         if (v != "cl100k_base" && v != "o200k_base")
           return bad(w, quoted(v, "is not an encoding (cl100k_base or o200k_base)"));
         inv.config.tokenizer_encoding = std::string(v);
         return {};
       }},
      {"context-tokens", true, false, true,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 2048, 10'000'000, "a token count");
         if (!n) return n.error();
         inv.config.context_tokens = *n;
         return {};
       }},
      {"sub", false, true, false,
       [](Invocation& inv, std::string_view w, std::string_view v) { return non_empty(w, v, inv.token.sub); }},
      {"role", false, true, false,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto r = chat::parse_principal_role(v);
         if (!r || *r == chat::PrincipalRole::kAnonymous) {
           return bad(w, quoted(v, "is not a role (user, agent or admin)"));
         }
         inv.token.role = *r;
         return {};
       }},
      {"ttl", false, true, false,
       [](Invocation& inv, std::string_view w, std::string_view v) -> Status {
         auto n = parse_ranged(w, v, 1, kMaxTtlSeconds, "a number of seconds");
         if (!n) return n.error();
         inv.token.ttl = std::chrono::seconds(*n);
         return {};
       }},
  };
  return table;
}

std::string env_name(std::string_view flag) {
  std::string name = "CHATD_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return name;
}

// Flags that take no value on the command line (given alone: true).
bool is_switch(const Flag& f) {
  return f.name == "public-session-list" || f.name == "seed001-client-roles" || f.name == "no-access-log" ||
         f.name == "no-rate-limits" ||
         f.name == "public-metrics";
}

const Flag* find_flag(std::string_view name) {
  for (const auto& f : flags()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

std::string_view to_string(LlmKind kind) noexcept { return kind == LlmKind::kOpenAi ? "openai" : "echo"; }

int effective_max_streams(const Config& c) noexcept {
  if (c.max_streams > 0) return std::min(c.max_streams, std::max(1, c.threads - 1));
  return std::max(1, c.threads - kReservedThreads);
}

int effective_max_streams_per_address(const Config& c) noexcept {
  const int pool = effective_max_streams(c);
  if (c.max_streams_per_address > 0) return std::min(c.max_streams_per_address, pool);
  return std::max(1, pool / 10);
}

// An eighth: at least eight addresses must be busy at once to fill the global
// bound, while one office behind a NAT still runs several replies in parallel.
int effective_llm_max_concurrent_per_address(const Config& c) noexcept {
  const int global = c.llm_max_concurrent;
  const int share = c.llm_max_concurrent_per_address.value_or(global > 0 ? std::max(1, global / 8) : 0);
  if (share <= 0 || (global > 0 && share >= global)) return 0;
  return share;
}

int effective_max_event_streams(const Config& c, long long file_limit) noexcept {
  if (c.max_event_streams > 0) return c.max_event_streams;
  const long long room = (file_limit - c.threads - kFileMargin) / 4 * 3;
  return static_cast<int>(std::clamp<long long>(room, 64, kDefaultMaxEventStreams));
}

int effective_max_connections(const Config& c, long long file_limit) noexcept {
  if (c.max_connections > 0) return c.max_connections;
  const long long room = file_limit - c.threads - kFileMargin;
  return static_cast<int>(std::clamp<long long>(room, 64, 10'000'000));
}

chat::Result<Invocation> parse_command_line(const std::vector<std::string>& args, const Environment& env) {
  Invocation inv;
  std::size_t i = 0;
  if (!args.empty() && args[0] == "token") {
    inv.command = Command::kToken;
    i = 1;
  }
  const bool token = inv.command == Command::kToken;

  // --help and --version win over everything else on the line, even errors.
  for (std::size_t j = i; j < args.size(); ++j) {
    if (args[j] == "--help" || args[j] == "-h") {
      inv.command = Command::kHelp;
      return inv;
    }
  }
  for (std::size_t j = i; j < args.size(); ++j) {
    if (args[j] == "--version") {
      inv.command = Command::kVersion;
      return inv;
    }
  }

  // The command line first, checked for syntax; values are applied after the
  // environment so that they override it.
  std::vector<std::pair<const Flag*, std::string>> given;
  bool have_sub = false;
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      if (arg == "token") return bad("token", "the token subcommand must come first: chatd token --sub USER_ID");
      return bad(arg, "unexpected argument (flags start with --; see --help)");
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string_view> value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    std::string where = "--" + std::string(name);
    const Flag* f = find_flag(name);
    if (f == nullptr || !(token ? f->token : f->serve)) {
      if (f != nullptr && !token) return bad(where, "only for the token subcommand (chatd token ...)");
      return bad(where, token ? "unknown flag for chatd token (see --help)" : "unknown flag (see --help)");
    }
    if (!value && is_switch(*f)) value = "true";
    if (!value) {
      if (i + 1 >= args.size()) return bad(where, "missing value");
      value = args[++i];
    }
    given.emplace_back(f, std::string(*value));
    if (name == "sub") have_sub = true;
  }

  // The environment, for the flags the command line did not give.
  for (const auto& f : flags()) {
    if (!f.from_env || !(token ? f.token : f.serve)) continue;
    bool on_line = false;
    for (const auto& g : given) on_line = on_line || g.first == &f;
    if (on_line) continue;
    std::string name = env_name(f.name);
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) continue;
    if (auto st = f.apply(inv, name, it->second); !st) return std::move(st).error();
  }

  for (const auto& [f, value] : given) {
    if (auto st = f->apply(inv, "--" + std::string(f->name), value); !st) return std::move(st).error();
  }

  if (token && !have_sub) return bad("--sub", "required: chatd token --sub USER_ID");
  if (is_postgres_db(inv.config.db) && inv.config.jwt_secret.empty()) {
    return bad("--jwt-secret",
               "required with a PostgreSQL --db: every instance must verify the tokens the others accept, and "
               "there is no file beside the database to keep a generated secret in; give every instance (and "
               "chatd token) the same secret, preferably as CHATD_JWT_SECRET (a command line shows in ps)");
  }
  return inv;
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("CHATD_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::string usage_text() {
  return R"(usage: chatd [flags]
       chatd token --sub USER_ID [--role user|agent|admin] [--ttl 3600] [--db PATH|URL] [--jwt-secret SECRET]
       chatd --help | --version

Serves the libchat HTTP API.

flags (each also read from the environment as CHATD_<FLAG>, e.g. CHATD_PORT;
the command line wins):
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --db PATH|URL            SQLite database, or :memory: (default chat.db), or a
                           PostgreSQL database shared by several instances:
                           postgresql://USER@HOST:PORT/DBNAME (also postgres://, or
                           libpq key=value); never with a password in it: libpq
                           reads PGPASSWORD or a PGPASSFILE (~/.pgpass)
  --db-connections N       PostgreSQL connections of this instance's pool (default 8;
                           SQLite ignores it)
  --sqlite-cache-mib N     SQLite page cache in MiB of the writer, and as much again
                           shared by the readers (default 16; PostgreSQL ignores it)
  --jwt-secret SECRET      HS256 secret for bearer tokens (default: a random secret
                           kept in <db>.jwt-secret, mode 0600, created on first start;
                           required with a PostgreSQL --db, the same for every
                           instance: prefer CHATD_JWT_SECRET)
  --llm echo|openai        reply provider (default echo)
  --llm-base-url URL       base URL of an OpenAI-compatible server
  --llm-model NAME         model name for the provider
  --llm-echo-delay-ms N    echo provider: pause before each streamed word, for
                           demos and stream benchmarks (default 0)
  --threads N              most HTTP worker threads (default 1536; created on
                           demand, 8 kept idle; every request being served and
                           every open stream or long-poll holds one; idle
                           keep-alive connections and request heads do not)
  --max-streams N          concurrent SSE streams + long-polls; more answer 429
                           (default: threads - 256, at least 1)
  --max-body-bytes N       largest request body accepted, else 413 (default 1048576)
  --max-page-bytes N       byte budget of one page of every listing: a page ends
                           before `limit` when its items' stored text (content,
                           metadata) would pass it, keeping one (default 4194304;
                           0: no budget)
  --request-timeout SECONDS  a request's headers and body must arrive within this
                           time of its first byte, else 408 (default 10)
  --max-connections N      open client connections in all; more are answered 503
                           (default: the open file limit, raised to its hard limit
                           at start, less threads and 256, at least 64)
  --max-connections-per-address N  open connections per client address (IPv4, or
                           IPv6 /64); more are answered 429 (default 256; trusted
                           proxies are exempt)
  --trusted-proxies CIDR[,CIDR...]  peers whose X-Forwarded-For names the client,
                           e.g. 127.0.0.1/32,::1/128 (default: none; the client
                           is the socket peer)
  --public-session-list    let anonymous callers list and search seed 001 sessions,
                           as the seed's document does (trusted networks only;
                           default off: agent and admin tokens list, anonymous
                           callers reach a session by its session_id or uuid)
  --seed001-client-roles   let anyone holding a seed 001 session's session_id post
                           messages with role assistant or system, as the seed
                           does (risk: a fake answer planted in a public session;
                           default off: those need an agent or admin token)
  --no-access-log          no log line per request (default: one info line each,
                           "http GET /path 200 0.41ms", written in batches by a
                           background thread; /metrics counts requests either way)
  --no-rate-limits         turn every rate limit off (benchmarks, trusted networks)
  --rate-limit-address-writes R/U:B   token bucket per client address for
                           state-changing requests (default 20/s:400; 0: off;
                           U is s, m or h)
  --rate-limit-address-creates R/U:B  ... for new sessions/conversations
                           (default 1/s:60)
  --rate-limit-address-model-calls R/U:B  ... for requests that start an AI
                           reply (default 3/s:60)
  --rate-limit-user-writes R/U:B      per authenticated user (default 5/s:100)
  --rate-limit-user-creates R/U:B     (default 30/m:30)
  --rate-limit-user-model-calls R/U:B (default 30/m:20)
  --rate-limit-max-keys N  buckets kept per key kind and class (default 20000)
  --max-streams-per-address N  stream slots one client address may hold; more
                           answer 429 (default: max-streams / 10, at least 1)
  --max-event-streams N    open event streams (SSE, GET .../events) in all; more
                           answer 429 (default 10000, within three quarters of
                           the open file limit)
  --max-event-streams-per-address N  event streams one client address may hold;
                           more answer 429 (default 256)
  --public-metrics         GET /metrics for anyone (default: loopback peers and
                           admin tokens only)
  --cors-origins LIST      origins whose pages may call chatd from a browser: exact
                           origins, comma-separated (https://landing.example,
                           http://localhost:5173), or * for the anonymous routes
                           only (seed 001, seed 002's widget routes, health, docs);
                           default empty: no cross-origin access
  --llm-api-key-env NAME   environment variable holding the API key of --llm openai
                           (default OPENAI_API_KEY; unset or empty: no key is sent)
  --llm-temperature T      default sampling temperature, 0-2 (default: the server's)
  --llm-max-tokens N       max_tokens of replies whose request sets none (default 1024)
  --llm-timeout SECONDS    longest wait for the model server's next byte (default 120)
  --llm-max-concurrent N   model calls in flight at once, streaming and not; more
                           answer 429 at once (default 64; 0: no bound)
  --llm-max-concurrent-per-address N  model calls one client address may have in
                           flight; more answer 429 at once (default: an eighth of
                           --llm-max-concurrent, at least 1; 0 or not below it: no share)
  --llm-deadline SECONDS   longest a whole model call may take, else 504 (default 300)
  --llm-first-byte-timeout SECONDS  longest wait for a stream's first token and for a
                           whole non-streamed answer, else 504 (default 50: below the
                           60 s reverse proxies commonly allow)
  --llm-max-reply-bytes N  largest reply kept, in bytes; longer ones are cut there,
                           finish_reason "length" (default 262144)
  --tokenizer PATH         tiktoken rank file (e.g. cl100k_base.tiktoken) for exact
                           token counts (default: estimate 4 bytes per token)
  --tokenizer-encoding E   cl100k_base or o200k_base (default cl100k_base)
  --context-tokens N       the model's context window used for prompts (default 8192;
                           1024 of it is kept for the reply)

token subcommand: prints a signed bearer token (HS256, claims sub, role, iat, exp)
signed with the same secret the server uses for --db / --jwt-secret.
  --sub USER_ID            the user id (required)
  --role user|agent|admin  default user
  --ttl SECONDS            lifetime (default 3600)
)";
}

}  // namespace chatd
