// router.hpp: chatd's route table.
//
// Routes are registered as (method, pattern, handler) before the server
// starts; the table is read-only while it serves (no locking). A pattern is
// a path of literal segments and `{name}` segments, each `{name}` matching
// one non-empty segment:
//
//   router.get("/api/jobs/{job_id}/quote-chat/", handler);
//   // handler(req, res, params): params.get("job_id")
//
// Trailing slashes never matter: "/api/chats" and "/api/chats/" are one
// pattern, and a request path matches with or without its trailing slash
// (DESIGN §4). When several patterns match a path, the most specific wins:
// segment by segment from the left, a literal beats a `{name}` (so
// "/chat/conversations/search" wins over "/chat/conversations/{id}").
//
// match() tells found / method not allowed / not found apart: a path that
// some pattern matches, but with no route for the method, is 405 with the
// methods that exist (HEAD is allowed wherever GET is; OPTIONS everywhere a
// pattern matches; match("OPTIONS", path) therefore always reports the Allow
// list of a known path). Registering the same method and pattern twice is a bug
// and throws std::logic_error at startup.
//
// A route may declare who may call it (Access, access.hpp): endpoint() and
// fixed_json() return a Route, whose Access the table keeps; routes() and
// match() report it (the CORS policy opens only anonymous routes to every
// origin; the OpenAPI test checks each route's security against it). A bare
// Handler (hand-written, e.g. GET /metrics) declares nothing (nullopt).
//
// Handlers run on the server's worker threads, concurrently; they must not
// throw (an exception is a bug: it is logged and answered 500). A streaming
// response's content provider (res.set_chunked_content_provider, for SSE)
// runs after the handler has returned, outside that net: httplib 0.11.4 does
// not catch there and an exception would terminate the process, so a provider
// must catch everything itself and end the stream (return false).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "access.hpp"
#include "request_scope.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace chatd {

// The values of a route's `{name}` segments (percent-decoded by httplib).
class PathParams {
 public:
  // The value, or "" when the pattern has no such segment.
  std::string_view get(std::string_view name) const noexcept;
  bool has(std::string_view name) const noexcept;
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// `scope`: the request's client address and stop token (request_scope.hpp).
using Handler = std::function<void(const httplib::Request& req, httplib::Response& res, const PathParams& params,
                                   const RequestScope& scope)>;

// A handler with the Access it enforces (what endpoint() builds).
struct Route {
  Handler handler;
  Access access = Access::kUser;
};

struct RouteInfo {
  std::string method;   // "GET", "POST", "PUT", "PATCH", "DELETE"
  std::string pattern;  // as first registered, e.g. "/api/chats/{session_id}/"
  std::optional<Access> access;  // nullopt: registered as a bare Handler
};

struct RouteMatch {
  enum class Kind { kFound, kMethodNotAllowed, kNotFound };
  Kind kind = Kind::kNotFound;
  const Handler* handler = nullptr;  // kFound
  const std::string* pattern = nullptr;  // kFound and kMethodNotAllowed: the route's pattern (for logs and metrics)
  PathParams params;                 // kFound
  std::optional<Access> access;      // kFound: as registered (nullopt: a bare Handler)
  std::string allow;                 // kMethodNotAllowed: "GET, HEAD, OPTIONS, POST"
};

class Router {
 public:
  Router& add(std::string_view method, std::string_view pattern, Handler handler,
              std::optional<Access> access = std::nullopt);
  Router& add(std::string_view method, std::string_view pattern, Route route) {
    return add(method, pattern, std::move(route.handler), route.access);
  }
  Router& get(std::string_view pattern, Handler h) { return add("GET", pattern, std::move(h)); }
  Router& post(std::string_view pattern, Handler h) { return add("POST", pattern, std::move(h)); }
  Router& put(std::string_view pattern, Handler h) { return add("PUT", pattern, std::move(h)); }
  Router& patch(std::string_view pattern, Handler h) { return add("PATCH", pattern, std::move(h)); }
  Router& del(std::string_view pattern, Handler h) { return add("DELETE", pattern, std::move(h)); }
  Router& get(std::string_view pattern, Route r) { return add("GET", pattern, std::move(r)); }
  Router& post(std::string_view pattern, Route r) { return add("POST", pattern, std::move(r)); }
  Router& put(std::string_view pattern, Route r) { return add("PUT", pattern, std::move(r)); }
  Router& patch(std::string_view pattern, Route r) { return add("PATCH", pattern, std::move(r)); }
  Router& del(std::string_view pattern, Route r) { return add("DELETE", pattern, std::move(r)); }

  // HEAD is looked up as GET.
  RouteMatch match(std::string_view method, std::string_view path) const;

  // Every registered route, in registration order (for docs and OpenAPI).
  std::vector<RouteInfo> routes() const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter name
    bool param = false;
  };
  struct Entry {
    std::string pattern;  // display form, as first registered
    std::vector<Segment> segments;
    std::string literal_prefix;  // the path up to the first {param}: a cheap pre-filter
    struct Method {
      std::string name;
      Handler handler;
      std::optional<Access> access;
    };
    std::vector<Method> methods;
  };
  std::vector<Entry> entries_;
  std::vector<RouteInfo> order_;
};

}  // namespace chatd
