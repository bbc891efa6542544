// http_connection.hpp: chatd's HTTP/1.1 connection loop, one accepted socket
// from start to close (cpp-httplib 0.11.4 keeps the listening socket, accept
// and the worker pool; server.cpp hands every accepted socket here).
//
// Why not httplib's own loop (issue 10, items 4-8): it matched route patterns
// with std::regex (stack per path byte), dropped the bytes of pipelined
// requests, took a client's half-close for a dead peer and never answered,
// closed with unread bytes (RST, answers cut), waited for a negative
// Content-Length, and timed out per recv(2) rather than per request.
//
// The loop, per request (http_request_reader.hpp, http_response_writer.hpp):
// wait for a first byte (the idle timeout, 5 s; a graceful stop ends the wait
// at once), read the request with its bounds and its deadline, hand it to
// `handle` (routing is the caller's: http_dispatch.hpp), write the answer,
// log it (`answered`), and go on with the bytes already buffered: pipelined
// requests are answered in order. The connection closes, with a lingering
// close (socket_io.hpp), after:
//   - `Connection: close` from the client, HTTP/1.0 without `keep-alive`;
//   - the keep-alive max count (the last answer says `Connection: close`);
//   - any refused request (400, 408, 413, 414, 431, 501, 505: the stream
//     cannot be framed past it), the answer written first;
//   - a graceful stop (the answer in flight says `Connection: close`);
//   - the peer's FIN once every complete request before it was answered.
// A client that vanished (reset, write stall past the write timeout) is closed
// at once, without an answer.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>

#include "http_request_reader.hpp"
#include "request_scope.hpp"

namespace chatd {

struct ConnectionOptions {
  RequestLimits limits;                  // bounds and deadlines of one request
  std::size_t keep_alive_max = 1000;     // requests per connection
  std::size_t linger_bytes = 16 << 20;   // discarded at most while closing
  std::chrono::milliseconds linger_timeout{2'000};
};

struct ConnectionHooks {
  std::function<void()> begin;  // a request's first byte arrived (may be empty)
  // A complete request: fill the response. Exceptions are caught (500).
  // The scope holds the client address and the request's stop token.
  std::function<void(const httplib::Request&, httplib::Response&, const RequestScope&)> handle;
  // A request refused before routing (400, 408, 413, ...): its answer is
  // rendered; `req` holds what was read (CORS headers, http_dispatch.hpp).
  std::function<void(const httplib::Request&, httplib::Response&)> refused;
  // After each answer was written (or the peer went away while it was).
  std::function<void(const httplib::Request&, const httplib::Response&)> answered;
};

// Serves the connected socket `fd` until it closes; closes `fd`. `stopping`:
// the server is stopping (no new request is waited for). Never throws.
void serve_connection(int fd, const ConnectionOptions& options, const ConnectionHooks& hooks,
                      const std::atomic<bool>& stopping) noexcept;

}  // namespace chatd
