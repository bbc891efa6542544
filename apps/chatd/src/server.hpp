// server.hpp: chatd's HTTP server: cpp-httplib 0.11.4 wired for a chat backend.
//
// What it sets up (see PLATFORM-NOTES.md for why):
// - a worker pool of Config::threads threads (new_task_queue; the default pool
//   of 8 would starve under a handful of streams), TCP_NODELAY on (43 ms per
//   request otherwise), keep-alive up to 1000 requests per connection, a listen
//   backlog of 1024 (httplib listens with 5: the server calls listen(2) again on
//   the bound socket, which Linux allows to resize the queue), read and write
//   timeouts of 10 s, keep-alive idle timeout 5 s;
// - SO_REUSEADDR without httplib's SO_REUSEPORT, so that a second daemon on the
//   same port fails to start instead of silently sharing it;
// - routing, bodies and error answers by http_dispatch.hpp, the access log and
//   metrics by access_log.hpp (summarized here):
// - its own routing: every request goes through one Router (router.hpp) so that
//   an unknown path answers 404 and a known path with a wrong method 405 with
//   an Allow header, both as JSON; OPTIONS answers 204 with Allow;
// - request bodies (POST, PUT, PATCH, DELETE) are read by the server, not by
//   httplib, up to Config::max_body_bytes: a larger Content-Length or a chunked
//   body that grows past it answers 413 JSON (the excess is read and discarded,
//   up to 16 MiB past the limit, so the client sees the answer; beyond that the
//   connection is closed); a malformed chunked body 400;
// - every error httplib produces itself (400 bad request line, 414, ...) is
//   rewritten as the JSON error body of http_errors.hpp; an exception escaping a
//   handler (a bug) is logged and answers 500 JSON;
// - one log line per request through the injected chat::Logger at info level:
//   "http GET /api/chats/ 200 0.41ms" (path without the query string, control
//   characters replaced);
// - GET /metrics (Prometheus text) from metrics.hpp.
//
// Lifecycle: construct, register routes on router() (never after start),
// start() (binds; port 0 takes any free port, see port()), then stop() from
// any thread. stop() is graceful: it closes the listening socket, lets every
// request in flight finish, waits for idle keep-alive connections to time out
// (at most 5 s) and joins the workers. Streaming routes must watch
// RouteContext::stopping and end their streams when it is set, or stop() waits
// for them. stop() must not be called from a signal handler (main.cpp uses a
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
#include "config.hpp"
#include "metrics.hpp"
#include "route_context.hpp"
#include "router.hpp"

namespace chatd {

struct ServerDeps {
  std::shared_ptr<chat::ChatService> service;  // required
  std::string jwt_secret;                      // required (see secret.hpp)
  std::shared_ptr<chat::Clock> clock;          // null: the system clock
  std::shared_ptr<chat::Logger> logger;        // null: no logging
};

class Server {
 public:
  // Throws std::invalid_argument when deps.service is null or the secret empty (a wiring bug).
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

 private:
  class Http;
  void configure();

  Config config_;
  ServerDeps deps_;
  JwtTokens tokens_;
  std::atomic<bool> stopping_{false};
  StreamSlots streams_;
  RouteContext context_;
  Router router_;
  Metrics metrics_;
  std::unique_ptr<Http> http_;
  std::thread thread_;
  std::atomic<int> port_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> finished_{false};
  std::mutex stop_mu_;
};

}  // namespace chatd
