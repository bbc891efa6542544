#include "http_dispatch.hpp"

#include <cctype>
#include <string>

#include "access_log.hpp"
#include "http_errors.hpp"

namespace chatd {

namespace {

// How much of an oversized body is read and thrown away so the client can
// read the 413; past that the body is abandoned and the connection ends.
constexpr std::size_t kDrainBytes = std::size_t{16} << 20;

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

bool is_body_method(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE"; }

}  // namespace

void install_dispatch(httplib::Server& http, const Router& router, std::size_t max_body_bytes, chat::Logger& logger) {
  // Routing is ours: one catch-all per method hands every request to router.
  auto dispatch = [&router, &logger](const httplib::Request& req, httplib::Response& res) {
    RouteMatch m = router.match(req.method, req.path);
    switch (m.kind) {
      case RouteMatch::Kind::kNotFound:
        render_error(res, 404, "not_found", "no such path: " + printable(req.path));
        return;
      case RouteMatch::Kind::kMethodNotAllowed:
        note_route(m.pattern);
        res.set_header("Allow", m.allow);
        if (req.method == "OPTIONS") {
          res.status = 204;
          return;
        }
        render_error(res, 405, "method_not_allowed",
                     "method " + printable(req.method) + " not allowed on " + printable(req.path) + "; allowed: " +
                         m.allow);
        return;
      case RouteMatch::Kind::kFound:
        break;
    }
    note_route(m.pattern);
    try {
      (*m.handler)(req, res, m.params);
    } catch (const std::exception& e) {
      logger.log(chat::LogLevel::kError, "http handler for " + printable(req.method) + " " + *m.pattern +
                                                      " threw: " + e.what());
      res = httplib::Response{};
      render_error(res, 500, "internal", "internal error");
    } catch (...) {
      logger.log(chat::LogLevel::kError,
                          "http handler for " + printable(req.method) + " " + *m.pattern + " threw a non-exception");
      res = httplib::Response{};
      render_error(res, 500, "internal", "internal error");
    }
  };

  // Bodies are read here, with the limit applied to chunked bodies too
  // (httplib 0.11.4 checks only Content-Length). The Request is a non-const
  // local of httplib's connection loop; filling its body before routing is
  // what httplib itself does for plain handlers.
  auto dispatch_with_body = [&router, max_body_bytes, dispatch](const httplib::Request& req, httplib::Response& res,
                                             const httplib::ContentReader& reader) {
    auto& mreq = const_cast<httplib::Request&>(req);  // NOLINT: see above
    const std::size_t limit = max_body_bytes;
    std::size_t total = 0;
    bool too_large = false;
    auto accept = [&](std::size_t n) {
      total += n;
      if (total > limit) {
        too_large = true;
        return false;
      }
      return true;
    };
    bool ok = false;
    if (req.is_multipart_form_data()) {
      httplib::MultipartFormDataMap::iterator cur = mreq.files.end();
      ok = reader(
          [&](const httplib::MultipartFormData& file) {
            cur = mreq.files.emplace(file.name, file);
            return true;
          },
          [&](const char* data, std::size_t n) {
            if (!accept(n)) {
              mreq.files.clear();
              cur = mreq.files.end();
              return total <= limit + kDrainBytes;
            }
            if (cur != mreq.files.end()) cur->second.content.append(data, n);
            return true;
          });
    } else {
      ok = reader([&](const char* data, std::size_t n) {
        if (!accept(n)) {
          mreq.body.clear();
          mreq.body.shrink_to_fit();
          return total <= limit + kDrainBytes;  // discard, so the 413 reaches the client
        }
        mreq.body.append(data, n);
        return true;
      });
    }
    if (too_large || res.status == 413) {  // 413: httplib refused a Content-Length over the limit
      res = httplib::Response{};
      RouteMatch m = router.match(req.method, req.path);
      if (m.kind != RouteMatch::Kind::kNotFound) note_route(m.pattern);
      render_error(res, 413, "payload_too_large",
                   "request body larger than " + std::to_string(limit) + " bytes (--max-body-bytes)");
      return;
    }
    if (!ok) {
      res = httplib::Response{};
      render_error(res, 400, "bad_request", "could not read the request body");
      return;
    }
    dispatch(req, res);
  };

  http.Get(".*", dispatch);
  http.Options(".*", dispatch);
  http.Post(".*", httplib::Server::HandlerWithContentReader(dispatch_with_body));
  http.Put(".*", httplib::Server::HandlerWithContentReader(dispatch_with_body));
  http.Patch(".*", httplib::Server::HandlerWithContentReader(dispatch_with_body));
  http.Delete(".*", httplib::Server::HandlerWithContentReader(dispatch_with_body));

  http.set_pre_routing_handler([&router](const httplib::Request& req, httplib::Response& res) {
    begin_request();
    const auto& m = req.method;
    if (req.has_header("Transfer-Encoding")) {
      // httplib 0.11.4 decodes only "chunked" and would read any other coding
      // as a body that ends when the peer closes (RFC 9112 §6.1: 501).
      std::string te = req.get_header_value("Transfer-Encoding");
      for (auto& c : te) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (te != "chunked") {
        render_error(res, 501, "not_implemented", "unsupported Transfer-Encoding: use chunked or Content-Length");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (is_body_method(m)) {
      // RFC 9112 §6.3: a request with neither Content-Length nor
      // Transfer-Encoding has no body. httplib 0.11.4 instead reads POST, PUT
      // and PATCH bodies until the peer closes, so `curl -X POST url` would
      // hang until the read timeout and get a 400: say the length is zero.
      if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
        const_cast<httplib::Request&>(req).set_header("Content-Length", "0");  // NOLINT: a non-const local of httplib
      }
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (m == "GET" || m == "HEAD" || m == "OPTIONS") return httplib::Server::HandlerResponse::Unhandled;
    // CONNECT, TRACE, PRI: httplib would answer a bare 400.
    RouteMatch match = router.match(m, req.path);
    if (match.kind == RouteMatch::Kind::kNotFound) {
      render_error(res, 404, "not_found", "no such path: " + printable(req.path));
    } else {
      note_route(match.pattern);
      res.set_header("Allow", match.allow);
      render_error(res, 405, "method_not_allowed", "method " + printable(m) + " not allowed on " + printable(req.path));
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  // Errors httplib answers by itself (bad request line, URI too long, ...)
  // get the JSON body; responses our handlers rendered are left alone.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    render_error(res, res.status, default_code(res.status), default_message(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([&logger](const httplib::Request& req, httplib::Response& res,
                                       std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    logger.log(chat::LogLevel::kError,
                        "http " + printable(req.method) + " " + printable(req.path) + " raised: " + what);
    res = httplib::Response{};
    render_error(res, 500, "internal", "internal error");
  });

}

}  // namespace chatd
