// chatd: the libchat HTTP daemon. See config.hpp for the command line and
// server.hpp for what the server does.
//
// Exit status: 0 after a clean stop (SIGINT/SIGTERM) or --help/--version;
// 2 for a usage error (bad flag or value, a provider without its model, an
// unreadable tokenizer file); 1 when the daemon cannot start (database, secret, address in use)
// or its listening socket fails. A second SIGINT/SIGTERM during a graceful
// stop exits at once with status 1.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "async_logger.hpp"
#include "auth.hpp"
#include "chat/llm.hpp"
#include "chat/logger.hpp"
#include "chat/postgres_store.hpp"
#include "chat/service.hpp"
#include "chat/sqlite_store.hpp"
#include "chat/store.hpp"
#include "chat/time.hpp"
#include "config.hpp"
#include "database_file.hpp"
#include "database_url.hpp"
#include "llm_setup.hpp"
#include "routes/routes.hpp"
#include "secret.hpp"
#include "server.hpp"
#include "signals.hpp"
#include "token_command.hpp"
#include "version.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void print_error(const std::string& message) { std::fprintf(stderr, "chatd: %s\n", message.c_str()); }

int run_token(const chatd::Invocation& inv) {
  auto issued = chatd::issue_token(inv.config, inv.token, chat::make_system_clock());
  if (!issued) {
    print_error(issued.error().message);
    return issued.error().code == chat::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (!issued->created_secret_file.empty()) {
    std::fprintf(stderr, "chatd: created the JWT secret file %s\n", issued->created_secret_file.c_str());
  }
  std::printf("%s\n", issued->token.c_str());
  return kExitOk;
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int serve(const chatd::Config& cfg, const sigset_t& signals) {
  std::shared_ptr<chat::Clock> clock = chat::make_system_clock();
  // The stderr logger's lines, written in batches off the workers (issue 11).
  auto async_logger = std::make_shared<chatd::AsyncLogger>(chatd::AsyncLoggerOptions{}, clock);
  std::shared_ptr<chat::Logger> logger = async_logger;
  // A failure to start is printed after the lines logged before it.
  auto print_error = [&async_logger](const std::string& message) {
    async_logger->flush();
    ::print_error(message);
  };

  auto llm = chatd::make_llm_setup(cfg, chatd::process_getenv);
  if (!llm) {
    print_error(llm.error().message);
    return kExitUsage;
  }
  if (cfg.llm == chatd::LlmKind::kEcho && (!cfg.llm_base_url.empty() || !cfg.llm_model.empty())) {
    logger->log(chat::LogLevel::kWarn, "--llm-base-url and --llm-model are ignored with --llm echo");
  }
  if (cfg.llm == chatd::LlmKind::kOpenAi) {
    // Never the key itself: only whether there is one.
    logger->log(chat::LogLevel::kInfo, "llm openai: model " + cfg.llm_model + " at " +
                                           (cfg.llm_base_url.empty() ? "https://api.openai.com" : cfg.llm_base_url) +
                                           (llm->has_api_key ? " (API key from $" + cfg.llm_api_key_env + ")"
                                                             : " (no API key: $" + cfg.llm_api_key_env + " unset)"));
  }
  logger->log(chat::LogLevel::kInfo, std::string("token counter: ") + std::string(llm->tokens->name()) +
                                         (llm->tokens->exact() ? " (exact)" : " (estimate)"));

  // A PostgreSQL database is shared by design (issue 13): no file to check,
  // no lock file, and the secret comes from the configuration (config.hpp).
  const bool postgres = chatd::is_postgres_db(cfg.db);
  const std::string db_shown = chatd::display_db(cfg.db);
  if (!postgres && cfg.db_connections != chatd::kDefaultDbConnections)
    logger->log(chat::LogLevel::kWarn, "--db-connections is ignored with a SQLite --db");
  if (postgres && cfg.sqlite_cache_mib != chatd::kDefaultSqliteCacheMib)
    logger->log(chat::LogLevel::kWarn, "--sqlite-cache-mib is ignored with a PostgreSQL --db");

  // Before the secret beside it is created: a refused database starts nothing.
  auto db_file = postgres ? chat::Result<std::vector<std::string>>(std::vector<std::string>())
                          : chatd::check_database_file(cfg.db);
  if (!db_file) {
    print_error(db_file.error().message);
    return kExitFailure;
  }
  for (const auto& warning : *db_file) logger->log(chat::LogLevel::kWarn, warning);

  auto secret = chatd::resolve_jwt_secret(cfg.jwt_secret, cfg.db);
  if (!secret) {
    print_error(secret.error().message);
    return kExitFailure;
  }
  if (secret->created) logger->log(chat::LogLevel::kInfo, "created the JWT secret file " + secret->path);
  if (secret->ephemeral) {
    logger->log(chat::LogLevel::kWarn,
                "--db :memory: without --jwt-secret: using an ephemeral JWT secret; tokens die with this process");
  }

  chat::Result<std::unique_ptr<chat::Store>> store = chat::Error::internal("unreachable");
  if (postgres) {
    chat::PostgresOptions options;
    options.conninfo = cfg.db;
    options.connections = cfg.db_connections;
    options.logger = logger;
    store = chat::open_postgres_store(options);
  } else if (cfg.db == ":memory:") {
    store = chat::open_memory_store();
  } else {
    chat::SqliteOptions options;
    options.path = cfg.db;
    options.cache_size_kib = static_cast<std::int64_t>(cfg.sqlite_cache_mib) * 1024;
    options.logger = logger;
    store = chat::open_sqlite_store(options);
  }
  if (!store) {
    print_error("cannot open the database " + db_shown + ": " + store.error().message);
    return kExitFailure;
  }

  chat::ServiceDeps deps;
  deps.store = std::shared_ptr<chat::Store>(std::move(*store));
  deps.llm = llm->llm;
  deps.tokens = llm->tokens;
  deps.clock = clock;
  deps.logger = logger;
  llm->service.anonymous_listing = cfg.public_session_list;
  llm->service.session_client_roles = cfg.seed001_client_roles;
  llm->service.max_page_bytes = cfg.max_page_bytes;
  auto service = chat::make_chat_service(std::move(deps), llm->service);
  if (!service) {
    print_error("cannot start the chat service: " + service.error().message);
    return kExitFailure;
  }

  chatd::ServerDeps server_deps;
  server_deps.service = std::shared_ptr<chat::ChatService>(std::move(*service));
  server_deps.jwt_secret = secret->secret;
  server_deps.clock = clock;
  server_deps.logger = logger;
  chatd::Server server(cfg, std::move(server_deps));
  chatd::register_all_routes(server.router(), server.context());
  if (auto st = server.start(); !st) {
    print_error(st.error().message);
    return kExitFailure;
  }
  std::printf("chatd listening on http://%s:%d (db %s, llm %s)\n", url_host(cfg.host).c_str(), server.port(),
              db_shown.c_str(), std::string(chatd::to_string(cfg.llm)).c_str());
  std::fflush(stdout);

  return chatd::run_until_signal(server, signals, *logger);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  auto inv = chatd::parse_command_line(args, chatd::process_environment());
  if (!inv) {
    print_error(inv.error().message);
    std::fprintf(stderr, "\n%s", chatd::usage_text().c_str());
    return kExitUsage;
  }
  switch (inv->command) {
    case chatd::Command::kHelp:
      std::printf("%s", chatd::usage_text().c_str());
      return kExitOk;
    case chatd::Command::kVersion:
      std::printf("%s\n", chatd::version_line().c_str());
      return kExitOk;
    case chatd::Command::kToken:
      return run_token(*inv);
    case chatd::Command::kServe:
      break;
  }

  // Block SIGINT and SIGTERM before any thread starts, so that every thread
  // inherits the mask and only serve()'s sigtimedwait receives them.
  const sigset_t signals = chatd::block_stop_signals();
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-response is an error return, not a kill
  return serve(inv->config, signals);
}
