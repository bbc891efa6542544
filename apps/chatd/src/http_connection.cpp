#include "http_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cctype>
#include <stop_token>
#include <string>
#include <string_view>

#include "http_errors.hpp"
#include "http_response_writer.hpp"
#include "socket_io.hpp"

namespace chatd {

namespace {

bool connection_has(const httplib::Request& req, std::string_view token) {
  auto range = req.headers.equal_range("Connection");
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view rest = it->second;
    for (;;) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.size() == token.size()) {
        bool same = true;
        for (std::size_t i = 0; i < item.size() && same; ++i) {
          same = std::tolower(static_cast<unsigned char>(item[i])) == token[i];
        }
        if (same) return true;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// Whether the client asked for the connection to end after this answer.
bool client_closes(const httplib::Request& req) {
  if (connection_has(req, "close")) return true;
  return req.version == "HTTP/1.0" && !connection_has(req, "keep-alive");
}

void handle_safely(const ConnectionHooks& hooks, const httplib::Request& req, httplib::Response& res) {
  // One stop source per request: requested when the answer is no longer wanted.
  std::stop_source stop;
  RequestScope scope;
  if (!req.remote_addr.empty()) scope.client_address = req.remote_addr;
  scope.stop = stop.get_token();
  try {
    hooks.handle(req, res, scope);
  } catch (...) {
    // http_dispatch catches and logs handler exceptions; this is the last net.
    res = httplib::Response{};
    render_error(res, 500, "internal", "internal error");
  }
}

void serve(SocketIo& io, const ConnectionOptions& options, const ConnectionHooks& hooks,
           const std::atomic<bool>& stopping) {
  int yes = 1;
  ::setsockopt(io.fd(), IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  ResponseOptions out;
  out.keep_alive_timeout = std::chrono::duration_cast<std::chrono::seconds>(options.limits.idle_timeout);
  out.keep_alive_max = options.keep_alive_max;
  out.write_timeout = options.limits.write_timeout;

  for (std::size_t served = 1;; ++served) {
    httplib::Request req;
    httplib::Response res;
    const ReadOutcome read = read_request(io, req, options.limits, stopping, hooks.begin);
    switch (read.kind) {
      case ReadOutcome::Kind::kIdle:
        // Nothing of a request is unread: a plain close cannot reset anything.
        io.close_now();
        return;
      case ReadOutcome::Kind::kGone:
        io.close_now();
        return;
      case ReadOutcome::Kind::kRefused:
        render_error(res, read.status, read.code, read.message);
        if (hooks.refused) hooks.refused(req, res);
        out.close = true;
        break;
      case ReadOutcome::Kind::kRequest:
        handle_safely(hooks, req, res);
        out.close = client_closes(req) || served >= options.keep_alive_max || stopping.load();
        break;
    }
    const WriteOutcome written = write_response(io, req, res, out);
    if (hooks.answered) hooks.answered(req, res);
    if (!written.ok) {
      io.close_now();
      return;
    }
    if (out.close || written.must_close) {
      io.close_lingering(options.linger_bytes, SteadyClock::now() + options.linger_timeout);
      return;
    }
  }
}

}  // namespace

void serve_connection(int fd, const ConnectionOptions& options, const ConnectionHooks& hooks,
                      const std::atomic<bool>& stopping) noexcept {
  SocketIo io(fd);
  try {
    serve(io, options, hooks, stopping);
  } catch (...) {
    // bad_alloc or a throwing hook: drop this connection, keep the server.
  }
}

}  // namespace chatd
