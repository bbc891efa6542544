#include "server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "access_log.hpp"
#include "api_docs.hpp"
#include "http_connection.hpp"
#include "http_dispatch.hpp"
#include "http_errors.hpp"

namespace chatd {

namespace {

constexpr int kListenBacklog = 1024;
constexpr std::size_t kKeepAliveMaxCount = 1000;
constexpr auto kKeepAliveTimeout = std::chrono::seconds(5);
constexpr auto kWriteTimeout = std::chrono::seconds(10);

// 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6.
bool is_loopback(std::string_view address) {
  if (address.rfind("::ffff:", 0) == 0) address.remove_prefix(7);
  return address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

// httplib::Server keeps the listening socket, accept(2) and the worker pool;
// every accepted socket is served by chatd's own connection loop
// (http_connection.hpp), through the private virtual process_and_close_socket
// of 0.11.4, so httplib neither parses nor routes anything. The listening
// socket is a protected member without an accessor: reached here to raise the
// backlog.
class Server::Http : public httplib::Server {
 public:
  int listen_socket() const { return svr_sock_.load(); }
  void serve_with(ConnectionOptions options, ConnectionHooks hooks, const std::atomic<bool>* stopping) {
    options_ = std::move(options);
    hooks_ = std::move(hooks);
    stopping_ = stopping;
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    serve_connection(sock, options_, hooks_, *stopping_);
    return true;
  }

  ConnectionOptions options_;
  ConnectionHooks hooks_;
  const std::atomic<bool>* stopping_ = nullptr;
};

namespace {

ServerDeps checked(ServerDeps deps) {
  if (!deps.service) throw std::invalid_argument("chatd::Server: no ChatService");
  if (deps.jwt_secret.empty()) throw std::invalid_argument("chatd::Server: empty JWT secret");
  if (!deps.clock) deps.clock = chat::make_system_clock();
  if (!deps.logger) deps.logger = chat::make_null_logger();
  return deps;
}

}  // namespace

Server::Server(Config config, ServerDeps deps)
    : config_(std::move(config)),
      deps_(checked(std::move(deps))),
      tokens_(deps_.jwt_secret, deps_.clock),
      streams_(static_cast<std::size_t>(effective_max_streams(config_)),
               static_cast<std::size_t>(effective_max_streams_per_address(config_))),
      context_{*deps_.service, tokens_, config_, *deps_.clock, *deps_.logger, stopping_, streams_},
      rate_limiter_(*deps_.clock, config_.rate_limits),
      http_(std::make_unique<Http>()) {
  configure();
}

Server::~Server() { stop(); }

// The listening socket, the worker pool and the connection loop with its
// limits; routing and the access log are http_dispatch.hpp's and access_log.hpp's.
void Server::configure() {
  auto& http = *http_;
  const auto threads = static_cast<std::size_t>(config_.threads > 0 ? config_.threads : kDefaultThreads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_tcp_nodelay(true);
  metrics_.add_gauge("chatd_open_streams", "SSE streams and long-polls open now",
                     [this] { return static_cast<double>(streams_.open()); });
  metrics_.add_gauge("chatd_max_streams", "bound on concurrent SSE streams and long-polls",
                     [this] { return static_cast<double>(streams_.capacity()); });
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which lets a
  // second daemon bind the same port and split the traffic silently.
  http.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  ConnectionOptions options;
  options.limits.max_body_bytes = config_.max_body_bytes;
  options.limits.request_timeout = std::chrono::seconds(config_.request_timeout_seconds);
  options.limits.idle_timeout = kKeepAliveTimeout;
  options.limits.write_timeout = kWriteTimeout;
  options.keep_alive_max = kKeepAliveMaxCount;
  ConnectionHooks hooks;
  hooks.begin = begin_request;
  Dispatcher dispatch(router_, context_.logger, config_.rate_limits.enabled ? &rate_limiter_ : nullptr,
                      CorsPolicy(config_.cors_origins));
  hooks.refused = [dispatch](const httplib::Request& req, httplib::Response& res) { dispatch.refused(req, res); };
  hooks.handle = std::move(dispatch);
  hooks.answered = access_logger(metrics_, context_.logger);
  http.serve_with(std::move(options), std::move(hooks), &stopping_);

  add_limit_metrics();
  // Loopback peers (a local Prometheus, an operator's curl) and admin tokens
  // only, unless --public-metrics: route names, traffic and refusals are
  // reconnaissance for an attacker.
  router_.get("/metrics", [this](const httplib::Request& req, httplib::Response& res, const PathParams&,
                                 const RequestScope& scope) {
    if (!config_.public_metrics && !is_loopback(scope.client_address)) {
      auto who = context_.authenticate(req, Access::kAdmin);
      if (!who) return render_error(res, who.error());
    }
    res.status = 200;
    res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  register_api_docs_routes(router_);  // GET /api/openapi.json, GET /api/docs (issue 12)
}

// Refusals by rate limits and stream shares, and the rate limiter's state.
void Server::add_limit_metrics() {
  metrics_.add_gauge("chatd_rate_limit_keys", "token buckets held by the rate limits now",
                     [this] { return static_cast<double>(rate_limiter_.tracked_keys()); });
  metrics_.add_family("chatd_rate_limited_total", "requests refused 429 by a rate limit, by class and key kind",
                      "counter", [this] {
                        std::vector<Metrics::Sample> out;
                        for (std::size_t k = 0; k < kRateKeyCount; ++k) {
                          for (std::size_t c = 0; c < kRateClassCount; ++c) {
                            const auto key = static_cast<RateKey>(k);
                            const auto cls = static_cast<RateClass>(c);
                            out.push_back({"class=\"" + std::string(to_string(cls)) + "\",key=\"" +
                                               std::string(to_string(key)) + "\"",
                                           static_cast<double>(rate_limiter_.refused(key, cls))});
                          }
                        }
                        return out;
                      });
  metrics_.add_family("chatd_streams_refused_total",
                      "SSE streams and long-polls refused 429: pool full, or the address held its share",
                      "counter", [this] {
                        return std::vector<Metrics::Sample>{
                            {"reason=\"pool\"", static_cast<double>(streams_.refused_by_pool())},
                            {"reason=\"share\"", static_cast<double>(streams_.refused_by_share())}};
                      });
  metrics_.add_gauge("chatd_max_streams_per_address", "stream slots one client address may hold",
                     [this] { return static_cast<double>(streams_.per_address()); });
}

chat::Status Server::start() {
  if (started_.load()) return chat::Error{chat::ErrorCode::kInternal, "server already started", {}};
  auto& http = *http_;
  errno = 0;
  int port = 0;
  if (config_.port == 0) {
    port = http.bind_to_any_port(config_.host);
  } else {
    port = http.bind_to_port(config_.host, config_.port) ? config_.port : -1;
  }
  if (port < 0) {
    std::string why = errno != 0 ? std::string(": ") + std::strerror(errno) : std::string();
    return chat::Error::unavailable("cannot listen on " + config_.host + ":" + std::to_string(config_.port) + why);
  }
  // httplib listened with a backlog of 5; a second listen(2) on the bound
  // socket resizes the accept queue (capped by net.core.somaxconn).
  if (::listen(http.listen_socket(), kListenBacklog) != 0) {
    context_.logger.log(chat::LogLevel::kWarn,
                        std::string("http: cannot raise the listen backlog: ") + std::strerror(errno));
  }
  port_.store(port);
  started_.store(true);
  thread_ = std::thread([this] {
    if (!http_->listen_after_bind() && !stopping_.load()) {
      context_.logger.log(chat::LogLevel::kError, "http: the listening socket failed; the server stopped");
    }
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
  // listen_after_bind() marks the server running only once its loop starts;
  // httplib's stop() before that would do nothing.
  while (!http_->is_running() && !finished_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
  thread_.join();
}

}  // namespace chatd
