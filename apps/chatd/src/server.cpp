#include "server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "http_errors.hpp"
#include "http_json.hpp"

namespace chatd {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kListenBacklog = 1024;
constexpr std::size_t kKeepAliveMaxCount = 1000;
constexpr time_t kKeepAliveTimeoutSeconds = 5;
constexpr time_t kReadTimeoutSeconds = 10;
constexpr time_t kWriteTimeoutSeconds = 10;
// How much of an oversized body is read and thrown away so the client can
// read the 413; past that the body is abandoned and the connection ends.
constexpr std::size_t kDrainBytes = std::size_t{16} << 20;

// Per-request state shared by the pre-routing handler, the router and the
// request logger, which httplib runs on the same worker thread, in order.
struct RequestState {
  Clock::time_point start{};
  const std::string* route = nullptr;
  bool active = false;
};
thread_local RequestState t_request;

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  return out;
}

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

// httplib::Server with access to its listening socket (a protected member in
// 0.11.4, which has no accessor) so that the backlog can be raised.
class Server::Http : public httplib::Server {
 public:
  int listen_socket() const { return svr_sock_.load(); }
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
      streams_(static_cast<std::size_t>(effective_max_streams(config_))),
      context_{*deps_.service, tokens_, config_, *deps_.clock, *deps_.logger, stopping_, streams_},
      http_(std::make_unique<Http>()) {
  configure();
}

Server::~Server() { stop(); }

void Server::configure() {
  auto& http = *http_;
  const auto threads = static_cast<std::size_t>(config_.threads > 0 ? config_.threads : kDefaultThreads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_tcp_nodelay(true);
  metrics_.add_gauge("chatd_open_streams", "SSE streams and long-polls open now",
                     [this] { return static_cast<double>(streams_.open()); });
  metrics_.add_gauge("chatd_max_streams", "bound on concurrent SSE streams and long-polls",
                     [this] { return static_cast<double>(streams_.capacity()); });
  http.set_keep_alive_max_count(kKeepAliveMaxCount);
  http.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  http.set_read_timeout(kReadTimeoutSeconds, 0);
  http.set_write_timeout(kWriteTimeoutSeconds, 0);
  http.set_payload_max_length(config_.max_body_bytes);
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which lets a
  // second daemon bind the same port and split the traffic silently.
  http.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  // Routing is ours: one catch-all per method hands every request to router_.
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    RouteMatch m = router_.match(req.method, req.path);
    switch (m.kind) {
      case RouteMatch::Kind::kNotFound:
        render_error(res, 404, "not_found", "no such path: " + printable(req.path));
        return;
      case RouteMatch::Kind::kMethodNotAllowed:
        t_request.route = m.pattern;
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
    t_request.route = m.pattern;
    try {
      (*m.handler)(req, res, m.params);
    } catch (const std::exception& e) {
      context_.logger.log(chat::LogLevel::kError, "http handler for " + printable(req.method) + " " + *m.pattern +
                                                      " threw: " + e.what());
      res = httplib::Response{};
      render_error(res, 500, "internal", "internal error");
    } catch (...) {
      context_.logger.log(chat::LogLevel::kError,
                          "http handler for " + printable(req.method) + " " + *m.pattern + " threw a non-exception");
      res = httplib::Response{};
      render_error(res, 500, "internal", "internal error");
    }
  };

  // Bodies are read here, with the limit applied to chunked bodies too
  // (httplib 0.11.4 checks only Content-Length). The Request is a non-const
  // local of httplib's connection loop; filling its body before routing is
  // what httplib itself does for plain handlers.
  auto dispatch_with_body = [this, dispatch](const httplib::Request& req, httplib::Response& res,
                                             const httplib::ContentReader& reader) {
    auto& mreq = const_cast<httplib::Request&>(req);  // NOLINT: see above
    const std::size_t limit = config_.max_body_bytes;
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
      RouteMatch m = router_.match(req.method, req.path);
      if (m.kind != RouteMatch::Kind::kNotFound) t_request.route = m.pattern;
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

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request = RequestState{Clock::now(), nullptr, true};
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
    RouteMatch match = router_.match(m, req.path);
    if (match.kind == RouteMatch::Kind::kNotFound) {
      render_error(res, 404, "not_found", "no such path: " + printable(req.path));
    } else {
      t_request.route = match.pattern;
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

  http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    context_.logger.log(chat::LogLevel::kError,
                        "http " + printable(req.method) + " " + printable(req.path) + " raised: " + what);
    res = httplib::Response{};
    render_error(res, 500, "internal", "internal error");
  });

  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const bool timed = t_request.active;
    const double seconds = timed ? std::chrono::duration<double>(Clock::now() - t_request.start).count() : 0.0;
    static const std::string kUnmatched = "unmatched";
    const std::string& route = t_request.route != nullptr ? *t_request.route : kUnmatched;
    t_request = RequestState{};
    metrics_.observe(req.method, route, res.status, seconds);
    if (context_.logger.enabled(chat::LogLevel::kInfo)) {
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.2fms", seconds * 1000.0);
      context_.logger.log(chat::LogLevel::kInfo, "http " + printable(req.method) + " " + printable(req.path) + " " +
                                                     std::to_string(res.status) + " " + (timed ? ms : "-"));
    }
  });

  router_.get("/metrics", [this](const httplib::Request&, httplib::Response& res, const PathParams&) {
    res.status = 200;
    res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
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
