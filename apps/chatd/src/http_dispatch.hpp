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
// - with a RateLimiter (rate_limiter.hpp), a state-changing request is charged
//   to its client address before its handler runs (429 with Retry-After and
//   the handler never runs), and the handler's scope carries the route's
//   classes so that the endpoint adapter charges the principal too.
// Framing, bounds and protocol errors (400, 408, 413, 414, 431, 501) are the
// connection's (http_connection.hpp); the access log and metrics hooks are
// access_log.hpp's.
#pragma once

#include <httplib.h>

#include "chat/logger.hpp"
#include "rate_limiter.hpp"
#include "request_scope.hpp"
#include "router.hpp"

namespace chatd {

class Dispatcher {
 public:
  // `router`, `logger` and `limiter` (null: no rate limits) must outlive the dispatcher.
  Dispatcher(const Router& router, chat::Logger& logger, RateLimiter* limiter = nullptr) noexcept
      : router_(router), logger_(logger), limiter_(limiter) {}

  // Routes `req` and fills `res`; never throws (bad_alloc aside).
  void operator()(const httplib::Request& req, httplib::Response& res, const RequestScope& scope) const;

 private:
  const Router& router_;
  chat::Logger& logger_;
  RateLimiter* limiter_;
};

}  // namespace chatd
