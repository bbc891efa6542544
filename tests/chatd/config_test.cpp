#include <catch2/catch.hpp>

#include "config.hpp"

using chatd::Command;
using chatd::Environment;
using chatd::parse_command_line;

namespace {

chatd::Invocation ok(const std::vector<std::string>& args, const Environment& env = {}) {
  auto r = parse_command_line(args, env);
  INFO((r ? std::string("ok") : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

chat::Error fails(const std::vector<std::string>& args, const Environment& env = {}) {
  auto r = parse_command_line(args, env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == chat::ErrorCode::kInvalidArgument);
  return r.error();
}

}  // namespace

TEST_CASE("config: defaults without flags or environment", "[chatd][config]") {
  auto inv = ok({});
  CHECK(inv.command == Command::kServe);
  const auto& c = inv.config;
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 8080);
  CHECK(c.db == "chat.db");
  CHECK(c.jwt_secret.empty());
  CHECK(c.llm == chatd::LlmKind::kEcho);
  CHECK(c.llm_base_url.empty());
  CHECK(c.llm_model.empty());
  CHECK(c.threads == 1536);
  CHECK(c.max_streams == 0);
  CHECK(chatd::effective_max_streams(c) == 1280);
  CHECK(c.max_body_bytes == 1048576);
}

TEST_CASE("config: every server flag", "[chatd][config]") {
  auto inv = ok({"--host", "0.0.0.0", "--port", "9090", "--db", "/tmp/x.db", "--jwt-secret", "s3cret", "--llm",
                 "openai", "--llm-base-url", "http://localhost:11434", "--llm-model", "llama3", "--threads", "64",
                 "--max-streams", "40", "--max-body-bytes", "2048"});
  const auto& c = inv.config;
  CHECK(c.host == "0.0.0.0");
  CHECK(c.port == 9090);
  CHECK(c.db == "/tmp/x.db");
  CHECK(c.jwt_secret == "s3cret");
  CHECK(c.llm == chatd::LlmKind::kOpenAi);
  CHECK(c.llm_base_url == "http://localhost:11434");
  CHECK(c.llm_model == "llama3");
  CHECK(c.threads == 64);
  CHECK(c.max_streams == 40);
  CHECK(chatd::effective_max_streams(c) == 40);
  CHECK(c.max_body_bytes == 2048);
}

TEST_CASE("config: --flag=value form, :memory:, port 0, last flag wins", "[chatd][config]") {
  auto inv = ok({"--port=0", "--db=:memory:", "--threads", "8", "--threads=16"});
  CHECK(inv.config.port == 0);
  CHECK(inv.config.db == ":memory:");
  CHECK(inv.config.threads == 16);
}

TEST_CASE("config: environment fallback and precedence", "[chatd][config]") {
  Environment env = {{"CHATD_HOST", "::1"},
                     {"CHATD_PORT", "7000"},
                     {"CHATD_DB", "env.db"},
                     {"CHATD_JWT_SECRET", "from-env"},
                     {"CHATD_LLM", "openai"},
                     {"CHATD_LLM_BASE_URL", "https://api.example.com"},
                     {"CHATD_LLM_MODEL", "gpt"},
                     {"CHATD_THREADS", "32"},
                     {"CHATD_MAX_BODY_BYTES", "4096"},
                     {"UNRELATED", "x"}};
  SECTION("environment alone") {
    auto c = ok({}, env).config;
    CHECK(c.host == "::1");
    CHECK(c.port == 7000);
    CHECK(c.db == "env.db");
    CHECK(c.jwt_secret == "from-env");
    CHECK(c.llm == chatd::LlmKind::kOpenAi);
    CHECK(c.llm_base_url == "https://api.example.com");
    CHECK(c.llm_model == "gpt");
    CHECK(c.threads == 32);
    CHECK(c.max_body_bytes == 4096);
  }
  SECTION("flags win over the environment") {
    auto c = ok({"--port", "7001", "--jwt-secret", "from-flag", "--max-body-bytes", "10"}, env).config;
    CHECK(c.port == 7001);
    CHECK(c.jwt_secret == "from-flag");
    CHECK(c.max_body_bytes == 10);
    CHECK(c.db == "env.db");  // not overridden
  }
  SECTION("an empty variable counts as unset") {
    auto c = ok({}, {{"CHATD_PORT", ""}}).config;
    CHECK(c.port == 8080);
  }
  SECTION("a bad value in the environment names the variable") {
    auto e = fails({}, {{"CHATD_PORT", "http"}});
    CHECK(e.field == "CHATD_PORT");
    CHECK_THAT(e.message, Catch::Contains("CHATD_PORT") && Catch::Contains("http"));
  }
  SECTION("a flag overrides a bad environment value entirely") {
    CHECK(ok({"--port", "1"}, {{"CHATD_PORT", "x"}}).config.port == 1);
  }
}

TEST_CASE("config: bad values", "[chatd][config]") {
  CHECK(fails({"--port", "65536"}).field == "--port");
  CHECK_THAT(fails({"--port", "65536"}).message, Catch::Contains("not a port"));
  fails({"--port", "-1"});
  fails({"--port", "80x"});
  fails({"--port", ""});
  fails({"--port", " 80"});
  fails({"--threads", "0"});
  fails({"--threads", "100000"});
  fails({"--threads", "many"});
  fails({"--max-streams", "0"});
  fails({"--max-body-bytes", "0"});
  fails({"--max-body-bytes", "1e6"});
  fails({"--max-body-bytes", "99999999999999999999999"});
  CHECK(fails({"--llm", "gpt"}).field == "--llm");
  fails({"--llm-base-url", "localhost:8000"});
  fails({"--host", ""});
  fails({"--db", ""});
  fails({"--jwt-secret", ""});
}

TEST_CASE("config: unknown flags, missing values, stray arguments", "[chatd][config]") {
  auto e = fails({"--prot", "80"});
  CHECK(e.field == "--prot");
  CHECK_THAT(e.message, Catch::Contains("unknown flag"));
  CHECK_THAT(fails({"--port"}).message, Catch::Contains("missing value"));
  CHECK_THAT(fails({"serve"}).message, Catch::Contains("unexpected argument"));
  CHECK_THAT(fails({"-p", "80"}).message, Catch::Contains("unexpected argument"));
  CHECK_THAT(fails({"--sub", "1"}).message, Catch::Contains("token subcommand"));
  CHECK_THAT(fails({"--port", "1", "token"}).message, Catch::Contains("must come first"));
}

TEST_CASE("config: --help and --version", "[chatd][config]") {
  CHECK(ok({"--help"}).command == Command::kHelp);
  CHECK(ok({"-h"}).command == Command::kHelp);
  CHECK(ok({"--port", "nope", "--help"}).command == Command::kHelp);  // help wins over errors
  CHECK(ok({"token", "--help"}).command == Command::kHelp);
  CHECK(ok({"--version"}).command == Command::kVersion);
  auto text = chatd::usage_text();
  for (const char* flag : {"--host", "--port", "--db", "--jwt-secret", "--llm", "--llm-base-url", "--llm-model",
                           "--threads", "--max-streams", "--max-body-bytes", "--sub", "--role", "--ttl", "CHATD_"}) {
    CHECK_THAT(text, Catch::Contains(flag));
  }
}

TEST_CASE("config: token subcommand", "[chatd][config]") {
  SECTION("defaults") {
    auto inv = ok({"token", "--sub", "42"});
    CHECK(inv.command == Command::kToken);
    CHECK(inv.token.sub == "42");
    CHECK(inv.token.role == chat::PrincipalRole::kUser);
    CHECK(inv.token.ttl == std::chrono::seconds(3600));
    CHECK(inv.config.db == "chat.db");
  }
  SECTION("every flag, and the environment for the shared ones") {
    auto inv = ok({"token", "--sub", "u1", "--role", "admin", "--ttl", "60", "--db", "other.db"},
                  {{"CHATD_JWT_SECRET", "k"}, {"CHATD_PORT", "not-read-by-token"}});
    CHECK(inv.token.role == chat::PrincipalRole::kAdmin);
    CHECK(inv.token.ttl == std::chrono::seconds(60));
    CHECK(inv.config.db == "other.db");
    CHECK(inv.config.jwt_secret == "k");
    CHECK(ok({"token", "--sub", "a", "--role", "agent"}).token.role == chat::PrincipalRole::kAgent);
  }
  SECTION("errors") {
    CHECK(fails({"token"}).field == "--sub");
    fails({"token", "--sub", ""});
    CHECK(fails({"token", "--sub", "1", "--role", "root"}).field == "--role");
    fails({"token", "--sub", "1", "--role", "anonymous"});
    fails({"token", "--sub", "1", "--ttl", "0"});
    fails({"token", "--sub", "1", "--ttl", "1h"});
    CHECK_THAT(fails({"token", "--sub", "1", "--port", "80"}).message, Catch::Contains("unknown flag for chatd token"));
  }
}

TEST_CASE("config: streams stay below the worker pool", "[chatd][config]") {
  chatd::Config c;
  c.threads = 100;
  CHECK(chatd::effective_max_streams(c) == 1);  // the reserve leaves none: still one
  c.threads = 1000;
  CHECK(chatd::effective_max_streams(c) == 744);
  c.max_streams = 5000;  // asked for more than the pool: one thread stays free
  CHECK(chatd::effective_max_streams(c) == 999);
  c.max_streams = 10;
  CHECK(chatd::effective_max_streams(c) == 10);
}

TEST_CASE("config: --public-session-list is a switch, off by default", "[chatd][config][safety]") {
  CHECK_FALSE(ok({}).config.public_session_list);
  CHECK(ok({"--public-session-list"}).config.public_session_list);
  CHECK(ok({"--public-session-list", "--port", "1"}).config.public_session_list);
  CHECK(ok({"--public-session-list=true"}).config.public_session_list);
  CHECK_FALSE(ok({"--public-session-list=false"}).config.public_session_list);
  CHECK(ok({}, {{"CHATD_PUBLIC_SESSION_LIST", "1"}}).config.public_session_list);
  CHECK_FALSE(ok({"--public-session-list=0"}, {{"CHATD_PUBLIC_SESSION_LIST", "1"}}).config.public_session_list);
  CHECK(fails({"--public-session-list=maybe"}).field == "--public-session-list");
}

TEST_CASE("config: --no-access-log is a switch, the access log on by default", "[chatd][config]") {
  CHECK(ok({}).config.access_log);
  CHECK_FALSE(ok({"--no-access-log"}).config.access_log);
  CHECK(ok({"--no-access-log=false"}).config.access_log);
  CHECK_FALSE(ok({}, {{"CHATD_NO_ACCESS_LOG", "1"}}).config.access_log);
  CHECK(fails({"--no-access-log=sometimes"}).field == "--no-access-log");
}

TEST_CASE("config: --seed001-client-roles is a switch, off by default", "[chatd][config][safety]") {
  CHECK_FALSE(ok({}).config.seed001_client_roles);
  CHECK(ok({"--seed001-client-roles"}).config.seed001_client_roles);
  CHECK(ok({"--seed001-client-roles", "--port", "1"}).config.seed001_client_roles);
  CHECK_FALSE(ok({"--seed001-client-roles=false"}).config.seed001_client_roles);
  CHECK(ok({}, {{"CHATD_SEED001_CLIENT_ROLES", "true"}}).config.seed001_client_roles);
  CHECK_FALSE(ok({"--seed001-client-roles=0"}, {{"CHATD_SEED001_CLIENT_ROLES", "1"}}).config.seed001_client_roles);
  CHECK(fails({"--seed001-client-roles=maybe"}).field == "--seed001-client-roles");
}

TEST_CASE("config: --max-page-bytes (issue 9: the byte budget of one page)", "[chatd][config]") {
  CHECK(ok({}).config.max_page_bytes == 4u * 1024 * 1024);
  CHECK(ok({"--max-page-bytes", "65536"}).config.max_page_bytes == 65536);
  CHECK(ok({"--max-page-bytes", "0"}).config.max_page_bytes == 0);  // no budget
  CHECK(ok({}, {{"CHATD_MAX_PAGE_BYTES", "1000"}}).config.max_page_bytes == 1000);
  CHECK(fails({"--max-page-bytes", "-1"}).field == "--max-page-bytes");
  fails({"--max-page-bytes", "4MiB"});
  CHECK_THAT(chatd::usage_text(), Catch::Contains("--max-page-bytes"));
}

TEST_CASE("config: --max-event-streams and --max-event-streams-per-address (issue 14)", "[chatd][config][events]") {
  CHECK(ok({}).config.max_event_streams == 0);
  CHECK(ok({}).config.max_event_streams_per_address == 256);
  CHECK(ok({"--max-event-streams", "20000"}).config.max_event_streams == 20000);
  CHECK(ok({"--max-event-streams-per-address=3"}).config.max_event_streams_per_address == 3);
  CHECK(ok({}, {{"CHATD_MAX_EVENT_STREAMS", "500"}}).config.max_event_streams == 500);
  CHECK(ok({}, {{"CHATD_MAX_EVENT_STREAMS_PER_ADDRESS", "9"}}).config.max_event_streams_per_address == 9);
  CHECK(fails({"--max-event-streams", "0"}).field == "--max-event-streams");
  CHECK(fails({"--max-event-streams-per-address", "-1"}).field == "--max-event-streams-per-address");
  fails({"--max-event-streams", "lots"});
  CHECK_THAT(chatd::usage_text(), Catch::Contains("--max-event-streams-per-address"));

  // The default: 10,000 within three quarters of what the open file limit leaves.
  chatd::Config c;
  c.threads = 64;
  CHECK(chatd::effective_max_event_streams(c, 1'048'576) == 10'000);
  CHECK(chatd::effective_max_event_streams(c, 4'096) == (4'096 - 64 - 256) / 4 * 3);
  CHECK(chatd::effective_max_event_streams(c, 20'000) == 10'000);  // this machine's hard limit
  CHECK(chatd::effective_max_event_streams(c, 100) == 64);
  c.max_event_streams = 123;
  CHECK(chatd::effective_max_event_streams(c, 100) == 123);
}

TEST_CASE("config: --db postgresql:// (issue 13): no password, a shared --jwt-secret, --db-connections",
          "[chatd][config][postgres]") {
  const std::string secret(40, 'k');
  auto inv = ok({"--db", "postgresql://chat@127.0.0.1:5432/chat", "--jwt-secret", secret, "--db-connections", "16"});
  CHECK(inv.config.db == "postgresql://chat@127.0.0.1:5432/chat");
  CHECK(inv.config.db_connections == 16);
  CHECK(ok({}).config.db_connections == chatd::kDefaultDbConnections);
  // From the environment too, and postgres:// and key=value strings.
  auto env = ok({}, {{"CHATD_DB", "postgres://chat@db/chat"}, {"CHATD_JWT_SECRET", secret},
                     {"CHATD_DB_CONNECTIONS", "3"}});
  CHECK(env.config.db == "postgres://chat@db/chat");
  CHECK(env.config.db_connections == 3);
  CHECK(ok({"--db", "host=db dbname=chat user=chat", "--jwt-secret", secret}).config.db ==
        "host=db dbname=chat user=chat");

  // A password anywhere in it is refused, and never repeated in the message.
  for (const std::string db : {"postgresql://chat:hunter2@db/chat", "postgres://chat:hunter2@db:5432/chat",
                               "postgresql://chat@db/chat?password=hunter2",
                               "postgresql://chat@db/chat?sslmode=require&PASSWORD=hunter2",
                               "host=db dbname=chat password=hunter2", "dbname=chat password = hunter2"}) {
    INFO(db);
    auto e = fails({"--db", db, "--jwt-secret", secret});
    CHECK(e.field == "--db");
    CHECK_THAT(e.message, Catch::Contains("PGPASSWORD") && Catch::Contains("PGPASSFILE"));
    CHECK_THAT(e.message, !Catch::Contains("hunter2"));
    CHECK(fails({"--jwt-secret", secret}, {{"CHATD_DB", db}}).field == "CHATD_DB");
  }
  // A user named like a keyword, or '@' in a path, is no password.
  CHECK(ok({"--db", "postgresql://password@db/chat", "--jwt-secret", secret}).config.db ==
        "postgresql://password@db/chat");

  // The secret is required for the server and for chatd token.
  CHECK(fails({"--db", "postgresql://chat@db/chat"}).field == "--jwt-secret");
  CHECK(fails({"token", "--sub", "1", "--db", "postgresql://chat@db/chat"}).field == "--jwt-secret");
  CHECK(ok({"token", "--sub", "1", "--db", "postgresql://chat@db/chat", "--jwt-secret", secret}).command ==
        Command::kToken);

  fails({"--db-connections", "0"});
  fails({"--db-connections", "1001"});
  // A SQLite file keeps working, the secret file beside it too.
  CHECK(ok({"--db", "./host=x"}).config.db == "./host=x");
}

TEST_CASE("config: --sqlite-cache-mib sizes SQLite's page cache (issue 11 footprint)", "[chatd][config]") {
  CHECK(ok({}).config.sqlite_cache_mib == chatd::kDefaultSqliteCacheMib);
  CHECK(ok({"--sqlite-cache-mib", "64"}).config.sqlite_cache_mib == 64);
  CHECK(ok({}, {{"CHATD_SQLITE_CACHE_MIB", "2"}}).config.sqlite_cache_mib == 2);
  for (const char* bad : {"0", "-1", "65537", "16MiB", ""}) {
    INFO(bad);
    CHECK(fails({"--sqlite-cache-mib", bad}).field == "--sqlite-cache-mib");
  }
}
