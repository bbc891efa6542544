#include "http_response_writer.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace chatd {

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

Deadline write_deadline(const ResponseOptions& o, std::size_t bytes, Deadline start) {
  if (o.write_min_rate == 0) return Deadline::max();
  const auto transfer =
      std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(bytes) * 1000.0 / o.write_min_rate));
  return start + o.write_deadline_base + transfer;
}

namespace {

// A DataSink that writes on `io`, chunk-framed or raw.
class SocketSink {
 public:
  SocketSink(SocketIo& io, bool chunked, std::chrono::milliseconds stall, Deadline deadline)
      : io_(io), chunked_(chunked), stall_(stall), deadline_(deadline) {
    sink_.write = [this](const char* data, std::size_t n) { return write(data, n); };
    sink_.done = [this] { done_ = true; };
    sink_.is_writable = [this] { return ok_ && !io_.broken(); };
  }
  httplib::DataSink& sink() { return sink_; }
  bool ok() const { return ok_; }
  bool done() const { return done_; }
  std::size_t written() const { return written_; }

 private:
  bool write(const char* data, std::size_t n) {
    if (!ok_) return false;
    if (n == 0) return true;
    if (chunked_) {
      char size[32];
      const int len = std::snprintf(size, sizeof size, "%zx\r\n", n);
      std::string frame;
      frame.reserve(static_cast<std::size_t>(len) + n + 2);
      frame.append(size, static_cast<std::size_t>(len)).append(data, n).append("\r\n");
      ok_ = io_.send_all(frame, stall_, false, deadline_);
    } else {
      ok_ = io_.send_all(std::string_view(data, n), stall_, false, deadline_);
    }
    if (ok_) written_ += n;
    return ok_;
  }

  SocketIo& io_;
  bool chunked_;
  std::chrono::milliseconds stall_;
  Deadline deadline_;
  bool ok_ = true;
  bool done_ = false;
  std::size_t written_ = 0;
  httplib::DataSink sink_;
};

bool run_provider(SocketIo& io, httplib::Response& res, const ResponseOptions& o, Deadline deadline) {
  const bool chunked = res.is_chunked_content_provider_;
  SocketSink out(io, chunked, o.write_timeout, deadline);
  if (res.content_length_ > 0) {
    while (out.written() < res.content_length_) {
      const std::size_t before = out.written();
      if (!res.content_provider_(before, res.content_length_ - before, out.sink()) || !out.ok()) return false;
    }
  } else {
    while (!out.done()) {
      if (!res.content_provider_(out.written(), 0, out.sink()) || !out.ok()) return false;
    }
    if (chunked && !io.send_all("0\r\n\r\n", o.write_timeout, false, deadline)) return false;
  }
  res.content_provider_success_ = true;
  return true;
}

}  // namespace

WriteOutcome write_response(SocketIo& io, const httplib::Request& req, httplib::Response& res,
                            const ResponseOptions& o) {
  WriteOutcome outcome;
  if (res.status == -1) res.status = 200;
  const bool provider = static_cast<bool>(res.content_provider_);
  // A provider without a length and not chunked: the body ends when the connection does.
  outcome.must_close = provider && res.content_length_ == 0 && !res.is_chunked_content_provider_;
  const bool close = o.close || outcome.must_close;
  if (close) {
    res.set_header("Connection", "close");
  } else {
    res.set_header("Keep-Alive", "timeout=" + std::to_string(o.keep_alive_timeout.count()) +
                                     ", max=" + std::to_string(o.keep_alive_max));
  }
  if (!res.has_header("Content-Type") && (!res.body.empty() || provider)) {
    res.set_header("Content-Type", "text/plain");
  }
  if (provider) {
    if (res.is_chunked_content_provider_) {
      res.set_header("Transfer-Encoding", "chunked");
    } else if (res.content_length_ > 0) {
      res.headers.erase("Content-Length");
      res.set_header("Content-Length", std::to_string(res.content_length_));
    }
  } else {
    res.headers.erase("Content-Length");
    res.set_header("Content-Length", std::to_string(res.body.size()));
  }

  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " + reason_phrase(res.status) + "\r\n";
  for (const auto& [name, value] : res.headers) head.append(name).append(": ").append(value).append("\r\n");
  head += "\r\n";

  const bool head_only = req.method == "HEAD" || res.status == 204 || res.status == 304;
  // Only an answer of known length has a total deadline (ResponseOptions).
  const bool sized = !provider || (!res.is_chunked_content_provider_ && res.content_length_ > 0);
  const std::size_t length = head.size() + (head_only ? 0 : provider ? res.content_length_ : res.body.size());
  const Deadline deadline = sized ? write_deadline(o, length, SteadyClock::now()) : Deadline::max();
  if (head_only || (!provider && res.body.empty())) {
    outcome.ok = io.send_all(head, o.write_timeout, false, deadline);
    return outcome;
  }
  if (!provider) {
    // One segment for a small answer; a large one follows its head at once.
    if (res.body.size() <= 16 * 1024) {
      head += res.body;
      outcome.ok = io.send_all(head, o.write_timeout, false, deadline);
    } else {
      outcome.ok = io.send_all(head, o.write_timeout, /*more=*/true, deadline) &&
                   io.send_all(res.body, o.write_timeout, false, deadline);
    }
    return outcome;
  }
  outcome.ok = io.send_all(head, o.write_timeout, false, deadline) && run_provider(io, res, o, deadline);
  return outcome;
}

bool write_stream_head(SocketIo& io, httplib::Response& res, bool chunked, const ResponseOptions& o) {
  if (res.status == -1) res.status = 200;
  res.set_header("Content-Type", "text/event-stream");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_header("Connection", "close");
  res.headers.erase("Content-Length");
  res.headers.erase("Keep-Alive");
  if (chunked) res.set_header("Transfer-Encoding", "chunked");
  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " + reason_phrase(res.status) + "\r\n";
  for (const auto& [name, value] : res.headers) head.append(name).append(": ").append(value).append("\r\n");
  head += "\r\n";
  return io.send_all(head, o.write_timeout, false, write_deadline(o, head.size(), SteadyClock::now()));
}

}  // namespace chatd
