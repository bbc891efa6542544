// config.hpp: chatd's command line and environment, parsed into a Config.
//
//   chatd [--host 127.0.0.1] [--port 8080] [--db chat.db | :memory: | postgresql://USER@HOST:PORT/DBNAME]
//         [--db-connections 8] [--sqlite-cache-mib 16]
//         [--jwt-secret SECRET] [--llm echo|openai] [--llm-base-url URL] [--llm-model NAME]
//         [--threads 1536] [--max-streams N] [--max-body-bytes 1048576] [--request-timeout 10]
//         [--public-session-list[=true|false]] [--seed001-client-roles[=true|false]] [--cors-origins ORIGIN,ORIGIN|*]
//         [--max-connections N] [--max-connections-per-address 256] [--trusted-proxies CIDR[,CIDR...]]
//         [--no-rate-limits[=true|false]] [--rate-limit-address-writes 20/s:400]
//         [--rate-limit-address-creates 1/s:60] [--rate-limit-address-model-calls 3/s:60]
//         [--rate-limit-user-writes 5/s:100] [--rate-limit-user-creates 0.5/s:30]
//         [--rate-limit-user-model-calls 0.5/s:20] [--rate-limit-max-keys 20000]
//         [--max-streams-per-address N] [--max-event-streams 10000] [--max-event-streams-per-address 256]
//         [--public-metrics[=true|false]] [--no-access-log[=true|false]]
//         [--llm-api-key-env OPENAI_API_KEY] [--llm-temperature T] [--llm-max-tokens 1024] [--llm-timeout SECONDS]
//         [--llm-max-concurrent 64] [--llm-max-concurrent-per-address N] [--llm-deadline 300]
//         [--llm-first-byte-timeout 50] [--llm-max-reply-bytes 262144] [--max-page-bytes 4194304]
//         [--tokenizer RANK_FILE] [--tokenizer-encoding cl100k_base|o200k_base] [--context-tokens N]
//   chatd token --sub USER_ID [--role user|agent|admin] [--ttl 3600] [--db PATH|URL] [--jwt-secret SECRET]
//   chatd --help | --version
//
// --db names a SQLite file (the default), :memory:, or a PostgreSQL database
// (issue 13: several chatd instances on one database): a postgresql:// or
// postgres:// URL, or a libpq key=value string (database_url.hpp). A
// PostgreSQL string holding a password is refused (the password comes from
// PGPASSWORD or a PGPASSFILE), and a PostgreSQL --db needs --jwt-secret
// (CHATD_JWT_SECRET), for the server and for `chatd token`: every instance
// must verify the tokens the others accept, and there is no file beside the
// database to keep a generated secret in. --db-connections is the
// PostgreSQL connection pool of one instance (SQLite ignores it).
//
// Every server flag can also come from the environment as CHATD_<FLAG> (upper
// case, '-' -> '_': CHATD_PORT, CHATD_JWT_SECRET, CHATD_MAX_BODY_BYTES, ...).
// A flag on the command line wins over the environment (a variable whose
// flag is on the command line is not even parsed); an empty variable counts
// as unset. `--flag value` and `--flag=value` are both accepted; a flag
// given twice keeps its last value. A switch (--public-session-list) takes
// no value on the command line, or =true/=false (also 1/0); its variable
// holds true/false/1/0. The token subcommand reads --db and
// --jwt-secret (and their CHATD_ variables) to find the same secret as the
// server; its own flags (--sub, --role, --ttl) come from the command line only.
//
// --threads is the most threads of the HTTP worker pool (worker_pool.hpp:
// created on demand, 8 kept idle, others ending after 30 s idle). A worker serves a request
// from its complete head to its answer (reactor.hpp reads heads and holds idle
// keep-alive connections without a thread), and a streaming response (SSE,
// long-poll) holds its thread until it ends, so the pool must be much larger
// than the number of cores. The
// default 1536 holds over a thousand open streams: --max-streams (default:
// the pool less 256 threads kept for plain requests and keep-alive
// connections) bounds them below the pool, so streams never starve the API
// (stream_slots.hpp). Threads are only created when needed: idle chatd has
// 12 threads and about 13 MB RSS (bench/README.md "Footprint").
//
// Rate limits (rate_limit_policy.hpp, issue 9): token buckets per client
// address and per user, for writes, creations and model calls, each given as
// RATE/UNIT:BURST (UNIT s, m or h) or 0 (that limit off); --no-rate-limits
// turns them all off (benchmarks). --max-streams-per-address bounds the
// stream slots one address holds (default: a tenth of --max-streams, at least
// 1). /metrics answers loopback peers and admin tokens unless --public-metrics.
// --llm-max-concurrent-per-address bounds the model calls one address has in
// flight (default: an eighth of --llm-max-concurrent, at least 1; 0: no
// share), so that a few addresses cannot hold every model-call slot.
//
// parse_command_line is a pure function of its arguments: no I/O, no getenv.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chat/result.hpp"
#include "chat/types.hpp"
#include "rate_limit_policy.hpp"

namespace chatd {

enum class LlmKind { kEcho, kOpenAi };
std::string_view to_string(LlmKind kind) noexcept;

inline constexpr int kDefaultThreads = 1536;
// Pool threads never given to streams: plain requests need them.
inline constexpr int kReservedThreads = 256;
inline constexpr std::size_t kDefaultMaxBodyBytes = 1048576;
// chat::ServiceOptions::max_page_bytes: 4 MiB of stored text per page.
inline constexpr std::size_t kDefaultMaxPageBytes = 4 * 1024 * 1024;
inline constexpr int kDefaultRequestTimeoutSeconds = 10;
inline constexpr std::int64_t kDefaultLlmMaxTokens = 1024;
inline constexpr int kDefaultLlmMaxConcurrent = 64;
inline constexpr int kDefaultLlmDeadlineSeconds = 300;
inline constexpr int kDefaultLlmFirstByteTimeoutSeconds = 50;
inline constexpr std::size_t kDefaultLlmMaxReplyBytes = 256 * 1024;
// Browsers open at most 6 HTTP/1.1 connections per origin, so 256 is over 40
// browsers behind one NAT at their maximum at once (idle ones close after
// 5 s); a flood from one address stops there. A carrier-grade NAT or a
// proxy that is not in --trusted-proxies may need more.
inline constexpr int kDefaultMaxConnectionsPerAddress = 256;
// Descriptors kept from --max-connections' default: the store's files, the
// log, epoll, and one outbound socket (a model call) per worker thread.
inline constexpr int kFileMargin = 256;
inline constexpr int kDefaultMaxEventStreams = 10'000;
// Pooled PostgreSQL connections per instance: a request holds one only for
// its statements (a long-poll or stream holds none while it waits), and N
// instances hold N times this many of the server's max_connections (100 by
// default).
inline constexpr int kDefaultDbConnections = 8;
// SQLite's page cache (chat::SqliteOptions::cache_size_kib, in MiB here).
// Smaller than libchat's 64 MiB default: chatd's footprint target is under
// 60 MB after a load test (issue 11); the kernel's page cache still holds
// the file, so a miss costs a pread, not a disk read, on a warm machine.
inline constexpr int kDefaultSqliteCacheMib = 16;
inline constexpr int kDefaultMaxEventStreamsPerAddress = 256;

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (the server reports the bound one)
  std::string db = "chat.db";  // ":memory:" for a private in-memory store; a PostgreSQL URL (database_url.hpp)
  int db_connections = kDefaultDbConnections;  // PostgreSQL pool size (chat::PostgresOptions::connections)
  int sqlite_cache_mib = kDefaultSqliteCacheMib;  // SQLite writer page cache; the readers share as much again
  std::string jwt_secret;      // empty: read or create "<db>.jwt-secret" (see secret.hpp)
  LlmKind llm = LlmKind::kEcho;
  std::string llm_base_url;
  std::string llm_model;
  // Echo provider only: pause before each streamed chunk (demos, SSE benchmarks).
  std::chrono::milliseconds llm_echo_delay{0};
  int threads = kDefaultThreads;
  int max_streams = 0;  // 0: threads - kReservedThreads (at least 1); see effective_max_streams()
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  // A request's headers and body must all arrive within this many seconds of
  // its first byte, else 408 and the connection closes (slow clients, issue 9).
  int request_timeout_seconds = kDefaultRequestTimeoutSeconds;
  // Seed 001's open listing of sessions for anonymous callers (trusted
  // networks only; off: a session is reached by its capability alone).
  bool public_session_list = false;
  // Seed 001's own rule: anyone holding an ownerless session's capability may
  // post role assistant or system (ServiceOptions::session_client_roles). Off:
  // those roles need an agent or admin token there (no planted fake answers).
  bool seed001_client_roles = false;
  // One info line per request ("http GET /path 200 0.41ms"), written in
  // batches by the logger's thread (async_logger.hpp); --no-access-log: none
  // (metrics still count every request).
  bool access_log = true;

  // ---- rate limits, per-address stream shares, /metrics access (issue 9)
  // Token buckets per address and per user (defaults and why:
  // rate_limit_policy.hpp, apps/chatd/README.md "Rate limits").
  RateLimitConfig rate_limits;
  // Stream slots one client address may hold; 0: effective_max_streams / 10,
  // at least 1 (see effective_max_streams_per_address()).
  int max_streams_per_address = 0;
  // /metrics for anyone; off: loopback peers and admin tokens only.
  bool public_metrics = false;

  // ---- Connections (reactor.hpp, client_address.hpp; issue 9 "slow clients")
  // Open client connections in all; more are answered 503 and closed.
  // 0: the open file limit (raised to its hard limit at start) less threads
  // and kFileMargin, at least 64; see effective_max_connections().
  int max_connections = 0;
  // Open connections per client address (IPv4, or IPv6 /64); more are
  // answered 429 and closed. Trusted proxies are exempt.
  int max_connections_per_address = kDefaultMaxConnectionsPerAddress;
  // CIDR blocks whose X-Forwarded-For is believed ("127.0.0.1/32,::1/128");
  // empty: no one's (client_address.hpp).
  std::string trusted_proxies;

  // ---- LLM provider and token counting (llm_setup.hpp)
  std::string llm_api_key_env = "OPENAI_API_KEY";  // the variable holding the key, read at start
  std::optional<double> llm_temperature;
  // max_tokens of a reply whose request names none (chat::ModelCallBounds::default_max_tokens).
  std::int64_t llm_max_tokens = kDefaultLlmMaxTokens;
  int llm_timeout_seconds = 120;  // longest silence from the model server
  std::string tokenizer;          // tiktoken rank file; empty: the estimating counter
  std::string tokenizer_encoding = "cl100k_base";
  std::int64_t context_tokens = 8192;  // the model's window used for context (reply reserve included)

  // ---- Page size (issue 9; chat::ServiceOptions::max_page_bytes)
  // The byte budget of one page of every listing (stored text: content,
  // metadata; seed 001 counts the session in each message). 0: no budget.
  std::size_t max_page_bytes = kDefaultMaxPageBytes;

  // ---- Browser front ends (issue 12, cors.hpp)
  // --cors-origins, normalized by parse_cors_origins: exact origins, or "*"
  // (anonymous routes only). Empty: no cross-origin access.
  std::vector<std::string> cors_origins;

  // ---- Model-call bounds (issue 9; chat::ModelCallBounds, llm_setup.hpp).
  // Provider calls in flight at once, streaming and not; more answer 429 at
  // once, before anything is stored (0: no bound).
  int llm_max_concurrent = kDefaultLlmMaxConcurrent;
  // Model calls one client address may have in flight (issue 9; held by the
  // endpoint adapter, RouteContext::model_calls); more answer 429 at once.
  // nullopt: llm_max_concurrent / 8, at least 1 (none when that is 0);
  // 0: no share. See effective_llm_max_concurrent_per_address().
  std::optional<int> llm_max_concurrent_per_address;
  // The longest a whole model call may take (504 past it).
  int llm_deadline_seconds = kDefaultLlmDeadlineSeconds;
  // The longest wait for a stream's first token, and for a whole non-streamed
  // answer (504 past it): below the 60 s reverse proxies commonly allow.
  int llm_first_byte_timeout_seconds = kDefaultLlmFirstByteTimeoutSeconds;
  // The largest reply kept, bytes of UTF-8; at the cap it is stored cut, "length".
  std::size_t llm_max_reply_bytes = kDefaultLlmMaxReplyBytes;

  // ---- Event streams (issue 14; event_pump.hpp, event_stream_route.hpp)
  // Open event streams in all (they hold no thread: one pump thread writes
  // them); more answer 429. 0: kDefaultMaxEventStreams, at most three
  // quarters of the open file limit's room (see effective_max_event_streams()).
  int max_event_streams = 0;
  // Event streams one client address may hold; more answer 429 (an office
  // behind one NAT: dozens of people with a few tabs each).
  int max_event_streams_per_address = kDefaultMaxEventStreamsPerAddress;
};

// The bound on concurrent streams and long-polls for `c`.
int effective_max_streams(const Config& c) noexcept;
// The share of those one client address may hold for `c`.
int effective_max_streams_per_address(const Config& c) noexcept;
// The model calls one client address may have in flight for `c`; 0: no share
// (none asked for, or not below the global bound).
int effective_llm_max_concurrent_per_address(const Config& c) noexcept;
// The bound on open connections for `c` under an open file limit of `file_limit`.
int effective_max_connections(const Config& c, long long file_limit) noexcept;
// The bound on open event streams for `c` under an open file limit of
// `file_limit`: --max-event-streams, or kDefaultMaxEventStreams within three
// quarters of (file_limit - threads - kFileMargin), at least 64 (connections
// need the rest; a handed-off stream no longer counts as a connection).
int effective_max_event_streams(const Config& c, long long file_limit) noexcept;

// `chatd token ...`
struct TokenRequest {
  std::string sub;
  chat::PrincipalRole role = chat::PrincipalRole::kUser;
  std::chrono::seconds ttl{3600};
};

enum class Command { kServe, kToken, kHelp, kVersion };

struct Invocation {
  Command command = Command::kServe;
  Config config;       // kServe, and db/jwt_secret for kToken
  TokenRequest token;  // kToken
};

using Environment = std::map<std::string, std::string>;

// args: the command line without argv[0]. env: the process environment (only
// CHATD_* variables are looked at). Errors are kInvalidArgument with a message
// fit for the terminal ("--port: '99999' is not a port (0-65535)") and the
// flag in `field`.
chat::Result<Invocation> parse_command_line(const std::vector<std::string>& args, const Environment& env);

// The environment of the process as a map (from `environ`).
Environment process_environment();

// The help text printed by --help and after a usage error.
std::string usage_text();

}  // namespace chatd
