// http_request_reader.hpp: reads one HTTP/1.x request from a SocketIo into an
// httplib::Request, with a bound on everything one request can cost.
//
// What a request may be (RFC 9112), and what the reader answers otherwise:
// - request line `METHOD SP target SP HTTP/1.x`, at most
//   RequestLimits::max_request_line bytes, else 414 `uri_too_long`; a method
//   that is not a token, a target with spaces or control characters, a missing
//   part: 400 `bad_request`; a version other than HTTP/1.x: 505. Any token is
//   a method: the router answers 405 (or 404) for the ones it has no route for.
//   Empty lines before a request line are skipped (RFC 9112 §2.2).
// - header fields `name: value`, each line at most max_header_line bytes, at
//   most max_headers fields and max_header_bytes in all, else 431
//   `header_fields_too_large`; a name that is not a token, whitespace before
//   the colon, a folded line, NUL or a bare CR in a value: 400.
// - body: `Transfer-Encoding: chunked`, or `Content-Length` (digits only: a
//   negative, signed, non-numeric or conflicting value is 400 at once, item 8
//   of issue 10), or none (empty body, whatever the method). Another transfer
//   coding: 501; both headers: 400 (a smuggling vector); more than
//   max_body_bytes: 413 `payload_too_large` (Content-Length: before reading a
//   byte; chunked: as soon as the sum passes it). A chunked body that is not
//   well-formed: 400. `Expect: 100-continue` is answered `100 Continue` just
//   before a body is read (never when the request is refused).
// - time: the whole request, from its first byte to its last body byte, within
//   request_timeout; later: 408 `request_timeout`. The deadline is per
//   request, not per recv(2) (issue 9); when the reactor read the head
//   (reactor.hpp), the deadline it started at the first byte is passed in.
// The path is percent-decoded, the query string parsed into Request::params
// (both by httplib's own decoders, which iterate, so a path costs no stack per
// byte: item 4); remote and local addresses are filled.
//
// After any refusal the connection must close: the rest of the stream cannot
// be framed. Never throws (bad_alloc aside).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "socket_io.hpp"

namespace chatd {

struct RequestLimits {
  std::size_t max_request_line = 8192;
  std::size_t max_header_line = 8192;
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{5'000};  // waiting for a request's first byte
  std::chrono::milliseconds write_timeout{10'000};  // for the 100 Continue line
};

struct ReadOutcome {
  enum class Kind {
    kRequest,  // a complete request: answer it
    kRefused,  // answer `status` with the JSON error, then close
    kIdle,     // no request began: the peer closed, the idle timeout passed, or the server is stopping
    kGone,     // the socket failed mid-request: close without an answer
  };
  Kind kind = Kind::kIdle;
  int status = 0;
  std::string code;     // kRefused: the error code ("payload_too_large")
  std::string message;  // kRefused: for the client
};

// Reads the next request. `begin` runs when the request's first byte is in
// (the access log starts its clock). `stopping`: when set while no request
// has begun, returns kIdle. `deadline`: the request's deadline when it began
// earlier (the reactor read its head: the deadline runs from its first byte);
// the request deadline is the earlier of it and request_timeout from now.
ReadOutcome read_request(SocketIo& io, httplib::Request& req, const RequestLimits& limits,
                         const std::atomic<bool>& stopping, const std::function<void()>& begin,
                         Deadline deadline = Deadline::max());

// What the buffered bytes hold of the next request's head (request line and
// header fields up to the empty line; blank lines before it are skipped as
// read_request skips them), for the reactor, which hands a connection to a
// worker only when read_request can parse the head without waiting:
enum class HeadState {
  kNone,        // nothing but blank lines
  kPartial,     // a head has begun and is not complete
  kComplete,    // a complete head is buffered
  kOverBounds,  // incomplete, but already past what the limits allow: read_request answers 414/431 at once
};
HeadState buffered_head(std::string_view buffered, const RequestLimits& limits) noexcept;

// For a buffer holding a complete head (buffered_head: kComplete): how many
// bytes, blank lines before the head included, the whole request spans when
// its body has a Content-Length of at most `max_buffered` bytes, so that the
// reactor keeps reading until the body is buffered too and a slow body holds
// no worker either. 0 when a worker should take the request as soon as its
// head is complete: no body, a chunked body, `Expect` (the client waits for
// 100 Continue), several or malformed Content-Length fields (the worker
// answers 400), or a body larger than `max_buffered` (the worker reads it,
// within the request deadline, or answers 413).
std::size_t buffered_request_span(std::string_view buffered, std::size_t max_buffered) noexcept;

}  // namespace chatd
