#include "http_request_reader.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "client_address.hpp"

namespace chatd {

namespace {

using Kind = ReadOutcome::Kind;

ReadOutcome refuse(int status, std::string code, std::string message) {
  return ReadOutcome{Kind::kRefused, status, std::move(code), std::move(message)};
}

ReadOutcome timed_out() {
  return refuse(408, "request_timeout", "the request was not complete within the request timeout (--request-timeout)");
}

// What went wrong while waiting for bytes in the middle of a request.
ReadOutcome interrupted(IoStatus st, const char* what) {
  if (st == IoStatus::kTimeout) return timed_out();
  if (st == IoStatus::kEof) return refuse(400, "bad_request", std::string("the connection ended before ") + what);
  return ReadOutcome{Kind::kGone, 0, {}, {}};
}

bool is_tchar(unsigned char c) {
  if (std::isalnum(c) != 0) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

enum class Line { kOk, kTooLong, kFailed };

// One line (without its CRLF or bare LF) into `out`, at most `max` bytes.
Line read_line(SocketIo& io, std::size_t max, Deadline deadline, std::string& out, IoStatus& failure) {
  std::size_t scanned = 0;
  for (;;) {
    const std::string_view b = io.buffered();
    const auto nl = b.find('\n', scanned);
    if (nl != std::string_view::npos) {
      std::string_view line = b.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max) return Line::kTooLong;
      out.assign(line);
      io.consume(nl + 1);
      return Line::kOk;
    }
    if (b.size() > max + 1) return Line::kTooLong;
    scanned = b.size();
    failure = io.fill(deadline);
    if (failure != IoStatus::kOk) return Line::kFailed;
  }
}

// Moves exactly `n` bytes into `out`.
IoStatus read_exact(SocketIo& io, std::size_t n, Deadline deadline, std::string& out) {
  while (n > 0) {
    std::string_view b = io.buffered();
    if (b.empty()) {
      IoStatus st = io.fill(deadline);
      if (st != IoStatus::kOk) return st;
      continue;
    }
    const std::size_t take = std::min(n, b.size());
    out.append(b.data(), take);
    io.consume(take);
    n -= take;
  }
  return IoStatus::kOk;
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Content-Length: every value (across repeated fields and comma lists) the
// same non-negative decimal (RFC 9112 §6.3 item 5).
std::optional<std::uint64_t> content_length(const httplib::Request& req) {
  std::optional<std::uint64_t> result;
  auto range = req.headers.equal_range("Content-Length");
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view rest = it->second;
    for (;;) {
      const auto comma = rest.find(',');
      auto v = parse_decimal(trim_ows(rest.substr(0, comma)));
      if (!v || (result && *result != *v)) return std::nullopt;
      result = v;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return result;
}

void fill_addresses(int fd, httplib::Request& req) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    req.remote_addr = socket_address_text(a, &req.remote_port);
  len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    req.local_addr = socket_address_text(a, &req.local_port);
}

// The request line into req.method, target, path, params, version.
std::optional<ReadOutcome> parse_request_line(std::string_view line, httplib::Request& req) {
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return refuse(400, "bad_request", "malformed request line: expected METHOD TARGET HTTP/1.1");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return refuse(400, "bad_request", "malformed request line: the method is not a token");
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x21 || u == 0x7f;
      })) {
    return refuse(400, "bad_request", "malformed request line: bad request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      std::isdigit(static_cast<unsigned char>(version[5])) == 0 ||
      std::isdigit(static_cast<unsigned char>(version[7])) == 0) {
    return refuse(400, "bad_request", "malformed request line: bad HTTP version");
  }
  if (version[5] != '1') return refuse(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
  req.method.assign(method);
  req.target.assign(target);
  req.version.assign(version);
  const auto q = target.find('?');
  // httplib's decoders: iterative, and the same decoding routes saw before.
  req.path = httplib::detail::decode_url(std::string(target.substr(0, q)), false);
  if (q != std::string_view::npos) httplib::detail::parse_query_text(std::string(target.substr(q + 1)), req.params);
  return std::nullopt;
}

std::optional<ReadOutcome> read_headers(SocketIo& io, httplib::Request& req, const RequestLimits& limits,
                                        Deadline deadline, bool trailers) {
  std::size_t total = 0;
  std::size_t count = 0;
  std::string line;
  const char* what = trailers ? "the chunked body's trailer was complete" : "the request headers were complete";
  for (;;) {
    IoStatus failure = IoStatus::kOk;
    switch (read_line(io, limits.max_header_line, deadline, line, failure)) {
      case Line::kOk: break;
      case Line::kTooLong:
        return refuse(431, "header_fields_too_large",
                      "a header line is longer than " + std::to_string(limits.max_header_line) + " bytes");
      case Line::kFailed: return interrupted(failure, what);
    }
    if (line.empty()) return std::nullopt;
    total += line.size() + 2;
    if (++count > limits.max_headers || total > limits.max_header_bytes) {
      return refuse(431, "header_fields_too_large",
                    "more than " + std::to_string(limits.max_headers) + " header fields or " +
                        std::to_string(limits.max_header_bytes) + " bytes of them");
    }
    if (line.front() == ' ' || line.front() == '\t') return refuse(400, "bad_request", "folded header lines are not accepted");
    const auto colon = line.find(':');
    if (colon == std::string::npos || !is_token(std::string_view(line).substr(0, colon))) {
      return refuse(400, "bad_request", "malformed header line");
    }
    const std::string_view value = trim_ows(std::string_view(line).substr(colon + 1));
    if (value.find('\0') != std::string_view::npos || value.find('\r') != std::string_view::npos) {
      return refuse(400, "bad_request", "a header value holds NUL or CR");
    }
    if (!trailers) req.headers.emplace(line.substr(0, colon), std::string(value));
  }
}

ReadOutcome too_large(const RequestLimits& limits) {
  return refuse(413, "payload_too_large",
                "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes (--max-body-bytes)");
}

std::optional<ReadOutcome> read_chunked(SocketIo& io, httplib::Request& req, const RequestLimits& limits,
                                        Deadline deadline) {
  std::string line;
  constexpr std::size_t kMaxChunkLine = 1024;
  for (;;) {
    IoStatus failure = IoStatus::kOk;
    switch (read_line(io, kMaxChunkLine, deadline, line, failure)) {
      case Line::kOk: break;
      case Line::kTooLong: return refuse(400, "bad_request", "malformed chunked body: chunk size line too long");
      case Line::kFailed: return interrupted(failure, "the chunked body was complete");
    }
    std::string_view size_text = trim_ows(std::string_view(line).substr(0, line.find(';')));
    if (size_text.empty() || size_text.size() > 15 ||
        !std::all_of(size_text.begin(), size_text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; })) {
      return refuse(400, "bad_request", "malformed chunked body: bad chunk size");
    }
    const std::uint64_t size = std::stoull(std::string(size_text), nullptr, 16);
    if (size == 0) return read_headers(io, req, limits, deadline, /*trailers=*/true);
    if (size > limits.max_body_bytes || req.body.size() + size > limits.max_body_bytes) {
      return too_large(limits);
    }
    if (auto st = read_exact(io, static_cast<std::size_t>(size), deadline, req.body); st != IoStatus::kOk) {
      return interrupted(st, "the chunked body was complete");
    }
    switch (read_line(io, 0, deadline, line, failure)) {
      case Line::kOk: break;
      case Line::kTooLong: return refuse(400, "bad_request", "malformed chunked body: data longer than its size");
      case Line::kFailed: return interrupted(failure, "the chunked body was complete");
    }
  }
}

bool has_token(const std::string& list, std::string_view token) {
  std::string_view rest = list;
  for (;;) {
    const auto comma = rest.find(',');
    if (lower(trim_ows(rest.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

std::optional<ReadOutcome> read_body(SocketIo& io, httplib::Request& req, const RequestLimits& limits,
                                     Deadline deadline) {
  const bool has_te = req.has_header("Transfer-Encoding");
  const bool has_cl = req.has_header("Content-Length");
  if (has_te && has_cl) {
    return refuse(400, "bad_request", "a request may not carry both Content-Length and Transfer-Encoding");
  }
  std::optional<std::uint64_t> length;
  if (has_te) {
    std::string te;
    auto range = req.headers.equal_range("Transfer-Encoding");
    for (auto it = range.first; it != range.second; ++it) te += (te.empty() ? "" : ",") + it->second;
    if (lower(trim_ows(te)) != "chunked") {
      // RFC 9112 §6.1: a transfer coding the server does not understand is 501.
      return refuse(501, "not_implemented", "unsupported Transfer-Encoding: use chunked or Content-Length");
    }
  } else if (has_cl) {
    length = content_length(req);
    if (!length) return refuse(400, "bad_request", "Content-Length must be one non-negative decimal number");
    if (*length > limits.max_body_bytes) return too_large(limits);
  } else {
    return std::nullopt;  // RFC 9112 §6.3: no body, whatever the method
  }
  if (length && *length == 0) return std::nullopt;

  if (req.version == "HTTP/1.1" && has_token(req.get_header_value("Expect"), "100-continue")) {
    constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!io.send_all(kContinue, limits.write_timeout)) return ReadOutcome{Kind::kGone, 0, {}, {}};
  }
  if (!length) return read_chunked(io, req, limits, deadline);
  req.body.reserve(static_cast<std::size_t>(*length));
  if (auto st = read_exact(io, static_cast<std::size_t>(*length), deadline, req.body); st != IoStatus::kOk) {
    return interrupted(st, "the request body was complete");
  }
  return std::nullopt;
}

}  // namespace

HeadState buffered_head(std::string_view b, const RequestLimits& limits) noexcept {
  std::size_t start = 0;
  while (start < b.size() && (b[start] == '\r' || b[start] == '\n')) ++start;
  if (start == b.size()) return HeadState::kNone;
  // The head ends at an empty line: "\n\n" or "\n\r\n" (read_line takes a
  // bare LF as a line end, with or without CR).
  for (auto nl = b.find('\n', start); nl != std::string_view::npos; nl = b.find('\n', nl + 1)) {
    if (nl + 1 < b.size() && b[nl + 1] == '\n') return HeadState::kComplete;
    if (nl + 2 < b.size() && b[nl + 1] == '\r' && b[nl + 2] == '\n') return HeadState::kComplete;
  }
  // Past this many bytes the reader refuses before it needs another byte: a
  // request line over its bound, header lines over max_header_bytes, and one
  // more line over max_header_line.
  const std::size_t bound = limits.max_request_line + limits.max_header_bytes + 2 * limits.max_header_line + 16;
  return b.size() - start > bound ? HeadState::kOverBounds : HeadState::kPartial;
}

std::size_t buffered_request_span(std::string_view b, std::size_t max_buffered) noexcept {
  std::size_t pos = 0;
  while (pos < b.size() && (b[pos] == '\r' || b[pos] == '\n')) ++pos;
  auto lower_equals = [](std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != lower[i]) return false;
    }
    return true;
  };
  std::optional<std::size_t> length;
  bool first = true;
  for (;;) {
    const auto nl = b.find('\n', pos);
    if (nl == std::string_view::npos) return 0;  // no complete head after all
    std::string_view line = b.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the end of the head
    if (first) {
      first = false;
      continue;  // the request line
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return 0;  // malformed: the worker answers it
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (lower_equals(name, "transfer-encoding") || lower_equals(name, "expect")) return 0;
    if (lower_equals(name, "content-length")) {
      if (length || value.empty() || value.size() > 12) return 0;
      std::size_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      length = n;
    }
  }
  if (!length || *length == 0 || *length > max_buffered) return 0;
  return pos + *length;
}

ReadOutcome read_request(SocketIo& io, httplib::Request& req, const RequestLimits& limits,
                         const std::atomic<bool>& stopping, const std::function<void()>& begin,
                         Deadline started_deadline) {
  // Wait for the first byte (skipping blank lines between requests).
  const Deadline idle_deadline = SteadyClock::now() + limits.idle_timeout;
  for (;;) {
    std::string_view b = io.buffered();
    std::size_t blank = 0;
    while (blank < b.size() && (b[blank] == '\r' || b[blank] == '\n')) ++blank;
    io.consume(blank);
    if (!io.buffered().empty()) break;
    const IoStatus st = io.fill(idle_deadline, &stopping);
    if (st != IoStatus::kOk) return ReadOutcome{st == IoStatus::kError ? Kind::kGone : Kind::kIdle, 0, {}, {}};
  }
  if (begin) begin();
  const Deadline deadline = std::min(started_deadline, SteadyClock::now() + limits.request_timeout);
  fill_addresses(io.fd(), req);

  std::string line;
  IoStatus failure = IoStatus::kOk;
  switch (read_line(io, limits.max_request_line, deadline, line, failure)) {
    case Line::kOk: break;
    case Line::kTooLong:
      return refuse(414, "uri_too_long",
                    "request line longer than " + std::to_string(limits.max_request_line) + " bytes");
    case Line::kFailed: return interrupted(failure, "the request line was complete");
  }
  if (auto refused = parse_request_line(line, req)) return std::move(*refused);
  if (auto refused = read_headers(io, req, limits, deadline, /*trailers=*/false)) return std::move(*refused);
  // RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header.
  if (req.version == "HTTP/1.1" && req.get_header_value_count("Host") != 1)
    return refuse(400, "bad_request", "an HTTP/1.1 request needs exactly one Host header");
  // RFC 9110 §10.1.1: the only expectation defined is 100-continue; any other is 417.
  if (req.has_header("Expect") && lower(trim_ows(req.get_header_value("Expect"))) != "100-continue")
    return refuse(417, "expectation_failed", "the only expectation understood is 100-continue");
  if (auto refused = read_body(io, req, limits, deadline)) return std::move(*refused);
  return ReadOutcome{Kind::kRequest, 0, {}, {}};
}

}  // namespace chatd
