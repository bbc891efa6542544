// cors.hpp: Cross-Origin Resource Sharing (the Fetch standard's CORS
// protocol) for the browser front ends of the seed APIs (issue 12).
//
// Configured by --cors-origins: a comma-separated list of exact origins
// ("https://landing.example", "http://localhost:5173"), or "*". Empty (the
// default): no cross-origin access, no CORS header is ever sent.
//
// Who is granted, by the request's Origin header and the route's Access
// (access.hpp):
//   - an origin on the list: every route;
//   - any other origin, when the list holds "*": the anonymous routes only
//     (Access kPublic / kOptional: seed 001, seed 002's widget routes, the
//     health routes, the OpenAPI document and docs page), answered with
//     `Access-Control-Allow-Origin: *`; Authorization is then not among the
//     allowed request headers, so a page from an unlisted origin can call
//     only anonymously;
//   - nobody else: no CORS header (the browser refuses to hand the answer to
//     the page), and a preflight is answered as without CORS (204 + Allow).
// `Access-Control-Allow-Credentials` is never sent: chatd reads bearer tokens
// from the Authorization header, never cookies, so no answer needs the
// browser's credentials mode.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) on a
// known path answers 204 with Allow-Origin (the exact origin, or "*"),
// Allow-Methods (the path's methods open to that origin), Allow-Headers
// (kRequestHeaders), Max-Age (kMaxAgeSeconds) and `Vary: Origin`. Every other
// answer to a granted origin, errors included (401, 404, 405, 429, 500, and
// the connection's refusals: 408, 413, ...), carries Allow-Origin,
// Expose-Headers (kExposedHeaders) and `Vary: Origin`; with a non-empty list
// every answer says `Vary: Origin`, so a shared cache never hands one
// origin's answer to another.
//
// Applied in one place: Dispatcher (http_dispatch.hpp) for routed answers,
// and its refused() for the connection's refusals. Immutable after
// construction; safe to use from every worker thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access.hpp"
#include "chat/result.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace chatd {

// The request headers a page may send: the token, JSON bodies, and the
// resume point of an event stream.
inline constexpr std::string_view kRequestHeaders = "Authorization, Content-Type, Last-Event-ID";
// ... the same under the wildcard: no credential from an unlisted origin.
inline constexpr std::string_view kAnonymousRequestHeaders = "Content-Type, Last-Event-ID";
// The answer headers a page may read beyond the CORS-safelisted ones: 429's
// retry delay, 401's challenge, 405's method list.
inline constexpr std::string_view kExposedHeaders = "Retry-After, WWW-Authenticate, Allow";
// How long a browser may reuse a preflight: 10 minutes (Chromium caps at 2 h),
// so that a changed list takes effect soon after a restart.
inline constexpr int kMaxAgeSeconds = 600;

// Checks and normalizes a --cors-origins value: each item is "*" or an
// origin "scheme://host[:port]" (http or https, no path, query, user info
// or trailing slash; scheme and host lower-cased, as browsers send them).
// Empty items, "null" and duplicates are errors: kInvalidArgument whose
// message names the item ("'https://a.example/' has a path, ...").
chat::Result<std::vector<std::string>> parse_cors_origins(std::string_view list);

class CorsPolicy {
 public:
  enum class Grant { kNone, kExact, kAny };

  CorsPolicy() = default;  // nothing granted
  // `origins`: parse_cors_origins' result.
  explicit CorsPolicy(std::vector<std::string> origins);

  bool enabled() const noexcept { return any_ || !exact_.empty(); }

  // The grant of `origin` on a route with `access` (nullopt: a route that
  // declares none, or no route: never opened by the wildcard).
  Grant grant(std::string_view origin, std::optional<Access> access) const;

  // Whether `req` is a CORS preflight (OPTIONS with Origin and
  // Access-Control-Request-Method).
  static bool is_preflight(const httplib::Request& req);

  // Adds the preflight headers to `res` (already 204 with Allow) when the
  // origin is granted: `methods` lists each method of the path with its
  // route's Access ("GET", "POST", ...; HEAD and OPTIONS are added).
  void preflight(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::pair<std::string, std::optional<Access>>>& methods) const;

  // Adds the headers of an actual answer (see above) for a route with `access`.
  void answer(const httplib::Request& req, httplib::Response& res, std::optional<Access> access) const;

 private:
  std::vector<std::string> exact_;
  bool any_ = false;
};

}  // namespace chatd
