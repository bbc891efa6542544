#include "http_connection.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "event_stream_handoff.hpp"
#include "http_errors.hpp"
#include "http_response_writer.hpp"

namespace chatd {

void Connection::peer_left(bool reset, bool kernel_unread) {
  std::lock_guard lock(mu_);
  fin_ = true;
  reset_ = reset_ || reset;
  if (in_flight_ && (reset_ || (!more_buffered_ && !kernel_unread))) stop_.request_stop();
}

void Connection::request_stop() {
  std::lock_guard lock(mu_);
  if (in_flight_) stop_.request_stop();
}

bool Connection::peer_finished() const {
  std::lock_guard lock(mu_);
  return fin_;
}

std::stop_token Connection::begin_request(bool more_buffered, bool stopping) {
  std::lock_guard lock(mu_);
  stop_ = std::stop_source();
  in_flight_ = true;
  more_buffered_ = more_buffered;
  if (stopping || reset_ || (fin_ && !more_buffered)) stop_.request_stop();
  return stop_.get_token();
}

void Connection::end_request() {
  std::lock_guard lock(mu_);
  in_flight_ = false;
}

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

std::string client_address(const Connection& c, const httplib::Request& req, const ConnectionOptions& options) {
  const std::string& peer = c.peer().empty() ? req.remote_addr : c.peer();
  if (!options.trusted_proxies || options.trusted_proxies->empty()) {
    return peer.empty() ? std::string("unknown") : canonical_address(peer);
  }
  std::vector<std::string_view> forwarded;
  auto range = req.headers.equal_range("X-Forwarded-For");
  for (auto it = range.first; it != range.second; ++it) forwarded.emplace_back(it->second);
  return options.trusted_proxies->client_address(peer, forwarded);
}

// Waits up to options.next_request_wait for the client's next request to be
// buffered whole, as the reactor would hand it over (a complete head and its
// small body, or a head over its bounds), so that this worker serves it.
// False: anything else (time up, a FIN, an error, the stop): the reactor
// takes the connection back and deals with what is buffered, as before; a
// slow head or body never holds this worker past the wait.
bool next_request_buffered(SocketIo& io, const ConnectionOptions& options, const std::atomic<bool>& stopping) {
  if (options.next_request_wait.count() <= 0) return false;
  auto ready = [&] {
    const HeadState head = buffered_head(io.buffered(), options.limits);
    if (head == HeadState::kOverBounds) return true;
    if (head != HeadState::kComplete) return false;
    const std::size_t span = buffered_request_span(io.buffered(), options.limits.max_body_bytes);
    return span == 0 || io.buffered().size() >= span;
  };
  const Deadline until = SteadyClock::now() + options.next_request_wait;
  for (;;) {
    if (stopping.load()) return false;
    const auto left = until - SteadyClock::now();
    if (left <= Deadline::duration::zero()) return false;
    pollfd p{io.fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    if (n < 0 && errno != EINTR) return false;
    if (n <= 0) continue;
    const IoStatus st = io.read_now();
    if (st == IoStatus::kAgain) continue;
    if (st != IoStatus::kOk) return false;
    if (ready()) return true;
  }
}

void handle_safely(Connection& c, const ConnectionOptions& options, const ConnectionHooks& hooks,
                   const httplib::Request& req, httplib::Response& res, bool stopping) {
  RequestScope scope;
  scope.client_address = client_address(c, req, options);
  // One stop source per request: requested when the answer is no longer wanted.
  // Blank lines a client adds after a body are not a further request.
  // Only a complete head buffered behind this request is a pipelined request
  // the client waits for; a partial one after a FIN never completes.
  scope.stop = c.begin_request(buffered_head(c.io.buffered(), options.limits) == HeadState::kComplete, stopping);
  try {
    hooks.handle(req, res, scope);
  } catch (...) {
    // http_dispatch catches and logs handler exceptions; this is the last net.
    res = httplib::Response{};
    render_error(res, 500, "internal", "internal error");
  }
  // An event stream is handed off only with its 200; a HEAD's handoff holds
  // no stream: it gets the same head, then the connection closes.
  if (scope.event_stream && (res.status == 200 || res.status == -1) &&
      (req.method == "GET" || (req.method == "HEAD" && !scope.event_stream->stream))) {
    c.event_stream = std::move(scope.event_stream);
  }
  scope.event_stream.reset();
  c.end_request();
}

After serve(Connection& c, const ConnectionOptions& options, const ConnectionHooks& hooks,
            const std::atomic<bool>& stopping, bool park) {
  SocketIo& io = c.io;
  ResponseOptions out;
  out.keep_alive_timeout = std::chrono::duration_cast<std::chrono::seconds>(options.limits.idle_timeout);
  out.keep_alive_max = options.keep_alive_max;
  out.write_timeout = options.limits.write_timeout;

  // The first request is read whatever is buffered: the reactor hands over a
  // complete head, one over its bounds, or a partial one the peer ended (400).
  for (bool first = true;; first = false) {
    if (park && !first) {
      const HeadState head = buffered_head(io.buffered(), options.limits);
      if ((head == HeadState::kNone || head == HeadState::kPartial) && !next_request_buffered(io, options, stopping)) {
        // The reactor waits for the rest; a partial head's deadline starts now.
        c.head_deadline = Deadline::max();
        return After::kPark;
      }
    }
    httplib::Request req;
    httplib::Response res;
    const ReadOutcome read = read_request(io, req, options.limits, stopping, hooks.begin, c.head_deadline);
    c.head_deadline = Deadline::max();
    ++c.served;
    switch (read.kind) {
      case ReadOutcome::Kind::kIdle:
        // Nothing of a request is unread: a plain close cannot reset anything.
        return After::kClose;
      case ReadOutcome::Kind::kGone:
        return After::kClose;
      case ReadOutcome::Kind::kRefused:
        render_error(res, read.status, read.code, read.message);
        if (hooks.refused) hooks.refused(req, res);
        out.close = true;
        break;
      case ReadOutcome::Kind::kRequest:
        handle_safely(c, options, hooks, req, res, stopping.load());
        out.close = client_closes(req) || c.served >= options.keep_alive_max || stopping.load();
        break;
    }
    if (c.event_stream) {
      c.event_stream->chunked = req.version != "HTTP/1.0";
      const bool ok = write_stream_head(io, res, c.event_stream->chunked, out);
      if (hooks.answered) hooks.answered(req, res);
      if (!ok || !c.event_stream->stream) {
        c.event_stream.reset();
        return ok ? After::kLinger : After::kClose;  // HEAD: the head alone (it says Connection: close)
      }
      return After::kHandOff;
    }
    const WriteOutcome written = write_response(io, req, res, out);
    if (hooks.answered) hooks.answered(req, res);
    if (!written.ok) return After::kClose;
    if (out.close || written.must_close) return After::kLinger;
  }
}

}  // namespace

After serve_requests(Connection& c, const ConnectionOptions& options, const ConnectionHooks& hooks,
                     const std::atomic<bool>& stopping, bool park) noexcept {
  try {
    return serve(c, options, hooks, stopping, park);
  } catch (...) {
    // bad_alloc or a throwing hook: drop this connection, keep the server.
    c.end_request();
    return After::kClose;
  }
}

void serve_connection(int fd, const ConnectionOptions& options, const ConnectionHooks& hooks,
                      const std::atomic<bool>& stopping) noexcept {
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  Connection c(fd, {});
  const After after = serve_requests(c, options, hooks, stopping, /*park=*/false);
  c.event_stream.reset();  // no event pump here: a handed-off stream ends after its head
  if (after == After::kLinger) {
    c.io.close_lingering(options.linger_bytes, SteadyClock::now() + options.linger_timeout);
  }
  c.io.close_now();
}

}  // namespace chatd
