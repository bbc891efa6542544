// server.hpp: chatd's HTTP server: cpp-httplib 0.11.4 wired for a chat backend.
//
// What it sets up (see PLATFORM-NOTES.md for why):
// - the listening socket (listener.hpp): SO_REUSEADDR without SO_REUSEPORT,
//   so that a second daemon on the same port fails to start instead of
//   silently sharing it; a backlog of 1024; the soft RLIMIT_NOFILE raised to
//   the hard limit at start;
// - one reactor thread (reactor.hpp, epoll) that accepts, caps connections
//   (--max-connections: 503; --max-connections-per-address: 429; trusted
//   proxies exempt), and reads every request head without a worker: a
//   connection goes to the worker pool (worker_pool.hpp: threads created on
//   demand up to Config::threads, kWorkerFloor kept, idle ones ending after
//   kWorkerLinger) only with a complete head buffered, and comes
//   back when its answers are written. Idle keep-alive connections (5 s) and
//   slow clients cost no thread; a head not complete within --request-timeout
//   of its first byte is answered 408 by the reactor;
// - chatd's own request loop on the worker (http_connection.hpp): TCP_NODELAY
//   (43 ms per request otherwise), keep-alive up to 1000 requests per
//   connection, pipelined requests answered in order, a half-closed client
//   still answered, a lingering close (no RST over an answer; done by the
//   reactor), bounded request line (414), headers (431) and body
//   (--max-body-bytes, 413; chunked bodies too), a deadline for a whole
//   request (--request-timeout, 408), a write stall bound of 10 s; protocol
//   errors as JSON (400, 408, 413, 414, 431, 501, 505);
// - every request's RequestScope: client_address from the peer, or from
//   X-Forwarded-For when the peer is in --trusted-proxies (client_address.hpp);
//   the stop token, requested when the client hangs up during the request (the
//   reactor watches the socket) or the server stops;
// - routing by http_dispatch.hpp: every request goes through one Router
//   (router.hpp), never through httplib's std::regex patterns, so an unknown
//   path answers 404 and a known path with a wrong method 405 with an Allow
//   header, both as JSON; OPTIONS answers 204 with Allow; an exception
//   escaping a handler (a bug) is logged and answers 500 JSON;
// - one log line per request through the injected chat::Logger at info level:
//   "http GET /api/chats/ 200 0.41ms" (path without the query string, control
//   characters replaced), and metrics (access_log.hpp);
// - rate limits per client address and per user (rate_limiter.hpp; off with
//   --no-rate-limits) and per-address shares of the stream slots;
// - GET /metrics (Prometheus text) from metrics.hpp, for loopback peers and
//   admin tokens only unless --public-metrics.
//
// Lifecycle: construct, register routes on router() (never after start),
// start() (binds; port 0 takes any free port, see port()), then stop() from
// any thread. stop() is graceful: it closes the listening socket, requests
// the stop token of every request in flight and lets it finish (its answer
// says Connection: close), ends idle keep-alive connections and partial heads
// (within 100 ms), and joins the reactor and the workers. Streaming routes
// must watch RouteContext::stopping (or their scope's stop token) and end
// their streams, or stop() waits for them. stop() must not be called from a signal handler (main.cpp uses a
// sigwait loop).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "auth.hpp"
#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/service.hpp"
#include "chat/time.hpp"
#include "client_address.hpp"
#include "config.hpp"
#include "http_connection.hpp"
#include "metrics.hpp"
#include "rate_limiter.hpp"
#include "route_context.hpp"
#include "router.hpp"
#include "worker_pool.hpp"

namespace chatd {

class Reactor;
class EventPump;
class StreamTickets;

struct ServerDeps {
  std::shared_ptr<chat::ChatService> service;  // required
  std::string jwt_secret;                      // required (see secret.hpp)
  std::shared_ptr<chat::Clock> clock;          // null: the system clock
  std::shared_ptr<chat::Logger> logger;        // null: no logging
};

class Server {
 public:
  // Throws std::invalid_argument when deps.service is null, the secret empty
  // or config.trusted_proxies unparsable (a wiring bug: parse_command_line checks it).
  Server(Config config, ServerDeps deps);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Router& router() noexcept { return router_; }
  const RouteContext& context() const noexcept { return context_; }
  Metrics& metrics() noexcept { return metrics_; }

  // Binds config.host:config.port and serves on a background thread. Fails
  // with kUnavailable when the address cannot be bound (in use, not permitted,
  // unknown host).
  chat::Status start();
  // The bound port (after start()); 0 before.
  int port() const noexcept { return port_.load(); }
  // True from start() until the server stops (by stop() or by failing).
  bool running() const noexcept { return started_.load() && !finished_.load(); }
  // Graceful stop; idempotent; safe from any thread but a signal handler.
  void stop();

  // Open connections, and those of them held by the reactor without a thread
  // (idle keep-alive, reading a head, closing); 0 before start().
  std::size_t open_connections() const noexcept;
  std::size_t parked_connections() const noexcept;

 private:
  void configure();
  void add_limit_metrics();
  void add_event_stream_metrics();

  Config config_;
  ServerDeps deps_;
  JwtTokens tokens_;
  std::atomic<bool> stopping_{false};
  StreamSlots streams_;
  // Each address's share of concurrent model calls (unbounded capacity: the
  // global bound is libchat's); used only when the share is on.
  StreamSlots model_calls_;
  RouteContext context_;
  Router router_;
  Metrics metrics_;
  RateLimiter rate_limiter_;
  std::shared_ptr<const TrustedProxies> trusted_proxies_;
  ConnectionOptions connection_options_;
  ConnectionHooks hooks_;
  // Event streams (issue 14): made by start() (their bound depends on the open
  // file limit); the pump outlives the reactor and the workers that hand it streams.
  std::unique_ptr<StreamTickets> stream_tickets_;
  std::unique_ptr<StreamSlots> event_streams_;
  std::unique_ptr<EventPump> event_pump_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<Reactor> reactor_;
  std::thread thread_;
  std::atomic<int> port_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> finished_{false};
  std::mutex stop_mu_;
};

}  // namespace chatd
