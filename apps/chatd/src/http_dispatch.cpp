#include "http_dispatch.hpp"

#include <string>

#include "access_log.hpp"
#include "http_errors.hpp"

namespace chatd {

namespace {

const char* default_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthenticated";
    case 403: return "permission_denied";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 416: return "range_not_satisfiable";
    case 417: return "expectation_failed";
    case 501: return "not_implemented";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "bad_request";
  }
}

const char* default_message(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 413: return "request body too large";
    case 414: return "request URI too long";
    case 416: return "range not satisfiable";
    default: return status >= 500 ? "internal error" : "request failed";
  }
}

void run_handler(const RouteMatch& m, const httplib::Request& req, httplib::Response& res, const RequestScope& scope,
                 chat::Logger& logger) {
  try {
    (*m.handler)(req, res, m.params, scope);
    return;
  } catch (const std::exception& e) {
    logger.log(chat::LogLevel::kError,
               "http handler for " + printable(req.method) + " " + *m.pattern + " threw: " + e.what());
  } catch (...) {
    logger.log(chat::LogLevel::kError,
               "http handler for " + printable(req.method) + " " + *m.pattern + " threw a non-exception");
  }
  res = httplib::Response{};
  render_error(res, 500, "internal", "internal error");
}

}  // namespace

void Dispatcher::operator()(const httplib::Request& req, httplib::Response& res, const RequestScope& scope) const {
  const Routed routed = route(req, res, scope);
  if (!routed.preflight) cors_.answer(req, res, routed.access);
}

void Dispatcher::refused(const httplib::Request& req, httplib::Response& res) const {
  cors_.answer(req, res, std::nullopt);
}

Dispatcher::Routed Dispatcher::route(const httplib::Request& req, httplib::Response& res,
                                        const RequestScope& scope) const {
  RouteMatch m = router_.match(req.method, req.path);
  switch (m.kind) {
    case RouteMatch::Kind::kNotFound:
      render_error(res, 404, "not_found", "no such path: " + printable(req.path));
      return {};
    case RouteMatch::Kind::kMethodNotAllowed:
      note_route(m.pattern);
      res.set_header("Allow", m.allow);
      if (req.method == "OPTIONS") {
        res.status = 204;
        preflight(req, res, m.allow);
        return Routed{std::nullopt, true};
      }
      render_error(res, 405, "method_not_allowed",
                   "method " + printable(req.method) + " not allowed on " + printable(req.path) + "; allowed: " +
                       m.allow);
      return {};
    case RouteMatch::Kind::kFound:
      break;
  }
  note_route(m.pattern);
  const RateClasses classes = rate_classes_for(req.method, *m.pattern);
  if (classes == 0) {
    run_handler(m, req, res, scope, logger_);
  } else {
    if (limiter_ != nullptr) {
      if (auto limited = limiter_->charge_address(classes, scope.client_address)) {
        render_rate_limited(res, *limited);
        return Routed{m.access, false};  // CORS still applies: a browser must read the 429
      }
    }
    RequestScope charged = scope;
    charged.rate_limiter = limiter_;
    charged.rate_classes = classes;
    run_handler(m, req, res, charged, logger_);
  }
  // An error status without a body (a handler that only set the status) gets the JSON body.
  if (res.status >= 400 && res.body.empty() && !res.content_provider_) {
    render_error(res, res.status, default_code(res.status), default_message(res.status));
  }
  return Routed{m.access, false};
}

// The path's methods with their routes' Access, for the policy to pick the
// ones open to the requesting origin.
void Dispatcher::preflight(const httplib::Request& req, httplib::Response& res, const std::string& allow) const {
  if (!CorsPolicy::is_preflight(req)) {
    cors_.answer(req, res, std::nullopt);  // a plain OPTIONS: only Vary
    return;
  }
  std::vector<std::pair<std::string, std::optional<Access>>> methods;
  std::size_t start = 0;
  while (start < allow.size()) {
    auto comma = allow.find(", ", start);
    if (comma == std::string::npos) comma = allow.size();
    std::string method = allow.substr(start, comma - start);
    start = comma + 2;
    if (method == "OPTIONS" || method == "HEAD") continue;
    RouteMatch m = router_.match(method, req.path);
    if (m.kind == RouteMatch::Kind::kFound) methods.emplace_back(std::move(method), m.access);
  }
  cors_.preflight(req, res, methods);
}

}  // namespace chatd
