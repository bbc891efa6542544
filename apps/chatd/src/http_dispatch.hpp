// http_dispatch.hpp: how a complete request reaches chatd's Router.
//
// - every method goes to the Router (httplib matches nothing, so no
//   std::regex ever runs over a path): an unknown path answers 404 and a known
//   path with a wrong method 405 with an Allow header, both as JSON; OPTIONS
//   answers 204 with Allow; CONNECT, TRACE or any other token method 405 (or
//   404);
// - a response a handler left with an error status and no body gets the JSON
//   error body of http_errors.hpp (code and message by status);
// - an exception escaping a handler (a bug) is logged and answers 500 JSON;
// - a state-changing request's handler gets the route's classes in its scope
//   (rate_classes_for: the route alone decides), for the endpoint adapter
//   (principal limits, model-call shares); with a RateLimiter
//   (rate_limiter.hpp) it is first charged to its client address (429 with
//   Retry-After and the handler never runs).
// - CORS (cors.hpp), last, on every answer: a preflight gets its headers, any
//   other answer (errors included) the Allow-Origin of a granted origin;
//   refused() does the same for the connection's refusals.
// Framing, bounds and protocol errors (400, 408, 413, 414, 431, 501) are the
// connection's (http_connection.hpp); the access log and metrics hooks are
// access_log.hpp's.
#pragma once

#include <httplib.h>

#include "chat/logger.hpp"
#include "rate_limiter.hpp"
#include "cors.hpp"
#include "request_scope.hpp"
#include "router.hpp"

namespace chatd {

class Dispatcher {
 public:
  // `router`, `logger` and `limiter` (null: no rate limits) must outlive the dispatcher.
  Dispatcher(const Router& router, chat::Logger& logger, RateLimiter* limiter = nullptr, CorsPolicy cors = {}) noexcept
      : router_(router), logger_(logger), limiter_(limiter), cors_(std::move(cors)) {}

  // Routes `req` and fills `res`; never throws (bad_alloc aside).
  void operator()(const httplib::Request& req, httplib::Response& res, const RequestScope& scope) const;

  // The CORS headers of an answer the connection refused before routing
  // (`req` holds what was read of it: its Origin when the headers were).
  void refused(const httplib::Request& req, httplib::Response& res) const;

 private:
  struct Routed {
    std::optional<Access> access;  // the matched route's (nullopt: none, or a bare Handler)
    bool preflight = false;        // an OPTIONS answer: CORS headers already set
  };
  Routed route(const httplib::Request& req, httplib::Response& res, const RequestScope& scope) const;
  void preflight(const httplib::Request& req, httplib::Response& res, const std::string& allow) const;

  const Router& router_;
  chat::Logger& logger_;
  RateLimiter* limiter_;
  CorsPolicy cors_;
};

}  // namespace chatd
