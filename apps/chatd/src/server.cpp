#include "server.hpp"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "access_log.hpp"
#include "http_connection.hpp"
#include "http_dispatch.hpp"
#include "listener.hpp"
#include "reactor.hpp"

namespace chatd {

namespace {

constexpr std::size_t kKeepAliveMaxCount = 1000;
constexpr auto kKeepAliveTimeout = std::chrono::seconds(5);
constexpr auto kWriteTimeout = std::chrono::seconds(10);

ServerDeps checked(ServerDeps deps) {
  if (!deps.service) throw std::invalid_argument("chatd::Server: no ChatService");
  if (deps.jwt_secret.empty()) throw std::invalid_argument("chatd::Server: empty JWT secret");
  if (!deps.clock) deps.clock = chat::make_system_clock();
  if (!deps.logger) deps.logger = chat::make_null_logger();
  return deps;
}

std::shared_ptr<const TrustedProxies> trusted_proxies(const Config& config) {
  auto parsed = TrustedProxies::parse(config.trusted_proxies);
  if (!parsed.ok()) throw std::invalid_argument("chatd::Server: " + parsed.error().message);
  return std::make_shared<const TrustedProxies>(std::move(*parsed));
}

}  // namespace

Server::Server(Config config, ServerDeps deps)
    : config_(std::move(config)),
      deps_(checked(std::move(deps))),
      tokens_(deps_.jwt_secret, deps_.clock),
      streams_(static_cast<std::size_t>(effective_max_streams(config_))),
      context_{*deps_.service, tokens_, config_, *deps_.clock, *deps_.logger, stopping_, streams_},
      trusted_proxies_(trusted_proxies(config_)) {
  configure();
}

Server::~Server() { stop(); }

// The request loop's limits and hooks; routing and the access log are
// http_dispatch.hpp's and access_log.hpp's.
void Server::configure() {
  metrics_.add_gauge("chatd_open_streams", "SSE streams and long-polls open now",
                     [this] { return static_cast<double>(streams_.open()); });
  metrics_.add_gauge("chatd_max_streams", "bound on concurrent SSE streams and long-polls",
                     [this] { return static_cast<double>(streams_.capacity()); });
  metrics_.add_gauge("chatd_open_connections", "client connections open now",
                     [this] { return static_cast<double>(open_connections()); });
  metrics_.add_gauge("chatd_parked_connections",
                     "open connections held without a worker thread (idle keep-alive, reading a head, closing)",
                     [this] { return static_cast<double>(parked_connections()); });

  connection_options_.limits.max_body_bytes = config_.max_body_bytes;
  connection_options_.limits.request_timeout = std::chrono::seconds(config_.request_timeout_seconds);
  connection_options_.limits.idle_timeout = kKeepAliveTimeout;
  connection_options_.limits.write_timeout = kWriteTimeout;
  connection_options_.keep_alive_max = kKeepAliveMaxCount;
  connection_options_.trusted_proxies = trusted_proxies_;
  hooks_.begin = begin_request;
  hooks_.handle = Dispatcher(router_, context_.logger);
  hooks_.answered = access_logger(metrics_, context_.logger);

  router_.get("/metrics", [this](const httplib::Request&, httplib::Response& res, const PathParams&, const RequestScope&) {
    res.status = 200;
    res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

std::size_t Server::open_connections() const noexcept { return reactor_ ? reactor_->open_connections() : 0; }
std::size_t Server::parked_connections() const noexcept { return reactor_ ? reactor_->parked_connections() : 0; }

chat::Status Server::start() {
  if (started_.load()) return chat::Error{chat::ErrorCode::kInternal, "server already started", {}};
  const FileLimit files = raise_file_limit();
  if (!files.error.empty()) {
    context_.logger.log(chat::LogLevel::kWarn, "http: cannot raise the open file limit (" + files.error +
                                                   "); it stays at " + std::to_string(files.soft));
  }
  const int threads = config_.threads > 0 ? config_.threads : kDefaultThreads;
  ReactorOptions options;
  options.limits = connection_options_.limits;
  options.max_connections = static_cast<std::size_t>(effective_max_connections(config_, files.soft));
  options.max_connections_per_address = static_cast<std::size_t>(config_.max_connections_per_address);
  options.linger_bytes = connection_options_.linger_bytes;
  options.linger_timeout = connection_options_.linger_timeout;
  options.trusted_proxies = trusted_proxies_;
  context_.logger.log(chat::LogLevel::kInfo,
                      "http: open file limit " + std::to_string(files.soft) + (files.raised ? " (raised to the hard limit)" : "") +
                          "; at most " + std::to_string(options.max_connections) + " connections, " +
                          std::to_string(options.max_connections_per_address) + " per address");

  auto listening = listen_on(config_.host, config_.port);
  if (!listening.ok()) return listening.error();
  workers_ = std::make_unique<httplib::ThreadPool>(static_cast<std::size_t>(threads));
  try {
    reactor_ = std::make_unique<Reactor>(
        listening->fd, std::move(options), *workers_,
        [this](Connection& c) { return serve_requests(c, connection_options_, hooks_, stopping_, /*park=*/true); },
        context_.logger);
  } catch (const std::exception& e) {
    ::close(listening->fd);
    workers_->shutdown();
    workers_.reset();
    return chat::Error::unavailable(std::string("cannot start the HTTP reactor: ") + e.what());
  }
  port_.store(listening->port);
  started_.store(true);
  thread_ = std::thread([this] {
    reactor_->run();
    if (!stopping_.load()) context_.logger.log(chat::LogLevel::kError, "http: the reactor failed; the server stopped");
    finished_.store(true);
  });
  return {};
}

void Server::stop() {
  std::lock_guard lock(stop_mu_);
  stopping_.store(true);
  // Seeds 002/003: long-polls blocked in wait_for_messages return at once.
  deps_.service->shutdown();
  if (!thread_.joinable()) return;
  // The reactor requests every request's stop token, closes idle connections,
  // and returns once the workers gave every connection back.
  reactor_->stop();
  thread_.join();
  workers_->shutdown();
}

}  // namespace chatd
