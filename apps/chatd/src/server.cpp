#include "server.hpp"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <stdexcept>

#include "access_log.hpp"
#include "api_docs.hpp"
#include "event_pump.hpp"
#include "event_stream_handoff.hpp"
#include "http_connection.hpp"
#include "http_dispatch.hpp"
#include "http_errors.hpp"
#include "listener.hpp"
#include "reactor.hpp"
#include "stream_tickets.hpp"

namespace chatd {

namespace {

constexpr std::size_t kKeepAliveMaxCount = 1000;
constexpr auto kKeepAliveTimeout = std::chrono::seconds(5);
constexpr auto kWriteTimeout = std::chrono::seconds(10);
// How long a worker waits for a keep-alive client's next request before the
// reactor takes the connection back (http_connection.hpp, issue 11).
constexpr auto kNextRequestWait = std::chrono::milliseconds(2);
// Worker threads kept alive idle (worker_pool.hpp): a burst of up to 8
// requests pays no thread creation (~30-60 us each here), and 8 idle threads
// cost well under 1 MB. More are created on demand up to --threads.
constexpr std::size_t kWorkerFloor = 8;
// An idle thread above the floor ends after this long: long enough that a
// load with pauses keeps its threads, short enough that a burst's threads (a
// thousand long-polls) give their memory back within a minute.
constexpr auto kWorkerLinger = std::chrono::seconds(30);
// No mallopt(M_ARENA_MAX): with threads on demand, MALLOC_ARENA_MAX=2 changed
// neither idle RSS (13.3 MB) nor RSS after the seed 002 loads (33 MB) here
// (bench/README.md "Footprint"); the 106 MB before were thread stacks, not arenas.
// Worker stacks keep the default size: only touched pages are resident, so a
// smaller reservation saves address space, not memory.

// 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6.
bool is_loopback(std::string_view address) {
  if (address.rfind("::ffff:", 0) == 0) address.remove_prefix(7);
  return address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

namespace {

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
      streams_(static_cast<std::size_t>(effective_max_streams(config_)),
               static_cast<std::size_t>(effective_max_streams_per_address(config_))),
      model_calls_(std::numeric_limits<std::size_t>::max(),
                   static_cast<std::size_t>(effective_llm_max_concurrent_per_address(config_))),
      context_{*deps_.service, tokens_, config_, *deps_.clock, *deps_.logger, stopping_, streams_,
               effective_llm_max_concurrent_per_address(config_) > 0 ? &model_calls_ : nullptr},
      rate_limiter_(*deps_.clock, config_.rate_limits),
      trusted_proxies_(trusted_proxies(config_)),
      stream_tickets_(std::make_unique<StreamTickets>(deps_.jwt_secret, deps_.clock)) {
  context_.stream_tickets = stream_tickets_.get();
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
  metrics_.add_gauge("chatd_buffered_request_bytes",
                     "bytes of requests still arriving that the reactor holds (bounded; past it 503)",
                     [this] { return static_cast<double>(reactor_ ? reactor_->buffered_bytes() : 0); });
  // Worker threads (worker_pool.hpp): created on demand up to --threads.
  metrics_.add_gauge("chatd_worker_threads", "worker threads alive now (created on demand up to --threads)",
                     [this] { return static_cast<double>(workers_ ? workers_->threads() : 0); });
  metrics_.add_gauge("chatd_worker_threads_busy", "worker threads serving a request or a stream now",
                     [this] { return static_cast<double>(workers_ ? workers_->busy() : 0); });
  metrics_.add_gauge("chatd_worker_queue", "requests waiting for a worker thread (every thread busy)",
                     [this] { return static_cast<double>(workers_ ? workers_->queued() : 0); });
  metrics_.add_gauge("chatd_max_worker_threads", "bound on worker threads (--threads)",
                     [this] { return static_cast<double>(config_.threads > 0 ? config_.threads : kDefaultThreads); });

  connection_options_.limits.max_body_bytes = config_.max_body_bytes;
  connection_options_.limits.request_timeout = std::chrono::seconds(config_.request_timeout_seconds);
  connection_options_.limits.idle_timeout = kKeepAliveTimeout;
  connection_options_.limits.write_timeout = kWriteTimeout;
  connection_options_.keep_alive_max = kKeepAliveMaxCount;
  connection_options_.next_request_wait = kNextRequestWait;
  connection_options_.trusted_proxies = trusted_proxies_;
  hooks_.begin = begin_request;
  Dispatcher dispatch(router_, context_.logger, config_.rate_limits.enabled ? &rate_limiter_ : nullptr,
                      CorsPolicy(config_.cors_origins));
  hooks_.refused = [dispatch](const httplib::Request& req, httplib::Response& res) { dispatch.refused(req, res); };
  hooks_.handle = std::move(dispatch);
  hooks_.answered = access_logger(metrics_, context_.logger, config_.access_log);

  add_limit_metrics();
  add_event_stream_metrics();
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
  metrics_.add_family("chatd_model_calls_refused_total",
                      "model calls refused 429 because the client address held its share of concurrent calls",
                      "counter", [this] {
                        return std::vector<Metrics::Sample>{
                            {"reason=\"share\"", static_cast<double>(model_calls_.refused_by_share())}};
                      });
  metrics_.add_gauge("chatd_llm_max_concurrent_per_address",
                     "model calls one client address may have in flight (0: no share)",
                     [this] { return static_cast<double>(effective_llm_max_concurrent_per_address(config_)); });
}

void Server::add_event_stream_metrics() {
  metrics_.add_gauge("chatd_open_event_streams", "event streams (GET .../events) open now",
                     [this] { return static_cast<double>(event_pump_ ? event_pump_->open_streams() : 0); });
  metrics_.add_gauge("chatd_max_event_streams", "bound on open event streams (--max-event-streams)",
                     [this] { return static_cast<double>(event_streams_ ? event_streams_->capacity() : 0); });
  metrics_.add_family("chatd_event_stream_events_sent_total", "events written to event streams", "counter", [this] {
    return std::vector<Metrics::Sample>{{"", static_cast<double>(event_pump_ ? event_pump_->events_sent() : 0)}};
  });
  metrics_.add_family("chatd_event_stream_dropped_clients_total",
                      "event stream clients dropped for reading too slowly (pending bytes past 1 MiB, or no "
                      "progress for 60 s)",
                      "counter", [this] {
                        return std::vector<Metrics::Sample>{
                            {"", static_cast<double>(event_pump_ ? event_pump_->dropped_clients() : 0)}};
                      });
  metrics_.add_family("chatd_event_stream_closed_for_input_total",
                      "event streams closed because the client sent bytes after its request (an EventSource never does)",
                      "counter", [this] {
                        return std::vector<Metrics::Sample>{
                            {"", static_cast<double>(event_pump_ ? event_pump_->closed_for_input() : 0)}};
                      });
  metrics_.add_gauge("chatd_event_stream_pending_bytes",
                     "bytes written to event streams and not yet taken by the kernel, all streams together",
                     [this] { return static_cast<double>(event_pump_ ? event_pump_->pending_bytes() : 0); });
  metrics_.add_family("chatd_event_streams_refused_total",
                      "event streams refused 429: the bound reached, or the address held its share", "counter",
                      [this] {
                        const double pool = event_streams_ ? static_cast<double>(event_streams_->refused_by_pool()) : 0;
                        const double share =
                            event_streams_ ? static_cast<double>(event_streams_->refused_by_share()) : 0;
                        return std::vector<Metrics::Sample>{{"reason=\"pool\"", pool}, {"reason=\"share\"", share}};
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
  options.max_buffered_body = connection_options_.limits.max_body_bytes;
  options.linger_bytes = connection_options_.linger_bytes;
  options.linger_timeout = connection_options_.linger_timeout;
  options.trusted_proxies = trusted_proxies_;
  context_.logger.log(chat::LogLevel::kInfo,
                      "http: open file limit " + std::to_string(files.soft) + (files.raised ? " (raised to the hard limit)" : "") +
                          "; at most " + std::to_string(options.max_connections) + " connections, " +
                          std::to_string(options.max_connections_per_address) + " per address");

  const int max_event_streams = effective_max_event_streams(config_, files.soft);
  context_.logger.log(chat::LogLevel::kInfo, "http: at most " + std::to_string(max_event_streams) + " event streams, " +
                                                 std::to_string(config_.max_event_streams_per_address) +
                                                 " per address");

  auto listening = listen_on(config_.host, config_.port);
  if (!listening.ok()) return listening.error();
  try {
    event_streams_ = std::make_unique<StreamSlots>(static_cast<std::size_t>(max_event_streams),
                                                   static_cast<std::size_t>(config_.max_event_streams_per_address));
    event_pump_ = std::make_unique<EventPump>(EventPumpOptions{}, context_.logger);
  } catch (const std::exception& e) {
    ::close(listening->fd);
    return chat::Error::unavailable(std::string("cannot start the event pump: ") + e.what());
  }
  context_.event_streams = event_streams_.get();
  context_.event_pump = event_pump_.get();
  try {
    WorkerPoolOptions pool;
    pool.max_threads = static_cast<std::size_t>(threads);
    pool.min_threads = kWorkerFloor;
    pool.linger = kWorkerLinger;
    workers_ = std::make_unique<WorkerPool>(pool);
  } catch (const std::exception& e) {
    ::close(listening->fd);
    return chat::Error::unavailable(std::string("cannot start the worker threads: ") + e.what());
  }
  try {
    reactor_ = std::make_unique<Reactor>(
        listening->fd, std::move(options), *workers_,
        [this](Connection& c) { return serve_requests(c, connection_options_, hooks_, stopping_, /*park=*/true); },
        context_.logger,
        [this](int fd, std::shared_ptr<EventStreamHandoff> stream) { event_pump_->adopt(fd, std::move(stream)); });
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
  // Every stream ends with its last chunk; none is handed over any more.
  event_pump_->stop();
}

}  // namespace chatd
