// http_connection.hpp: chatd's HTTP/1.1 connection loop: the requests of one
// accepted socket, parsed, handled and answered in order.
//
// Who runs it (server.hpp): the reactor (reactor.hpp) owns every connection
// between requests: it reads a request's head without a thread and hands the
// connection to a worker only once a complete head is buffered. The worker
// runs serve_requests(): it parses the head, reads the body, runs the handler,
// writes the answer, answers the pipelined requests already buffered, and
// gives the connection back (After::kPark) as soon as no complete head is
// buffered, so an idle keep-alive connection or a slow client costs no thread.
// serve_connection() runs the same loop on the calling thread from accept to
// close (tests, tools).
//
// Why not httplib's own loop (issue 10, items 4-8): it matched route patterns
// with std::regex (stack per path byte), dropped the bytes of pipelined
// requests, took a client's half-close for a dead peer and never answered,
// closed with unread bytes (RST, answers cut), waited for a negative
// Content-Length, and timed out per recv(2) rather than per request.
//
// Per request (http_request_reader.hpp, http_response_writer.hpp): read the
// request with its bounds and its deadline, hand it to `handle` (routing is
// the caller's: http_dispatch.hpp) with a RequestScope (client address,
// client_address.hpp; a stop token of its own), write the answer, log it
// (`answered`). The connection ends, with a lingering close (socket_io.hpp;
// After::kLinger: the reactor discards what follows without a thread), after:
//   - `Connection: close` from the client, HTTP/1.0 without `keep-alive`;
//   - the keep-alive max count (the last answer says `Connection: close`);
//   - any refused request (400, 408, 413, 414, 431, 501, 505: the stream
//     cannot be framed past it), the answer written first;
//   - a graceful stop (the answer in flight says `Connection: close`);
//   - the peer's FIN once every complete request before it was answered.
// A client that vanished (reset, write stall past the write timeout) is closed
// at once, without an answer (After::kClose). An event stream route's 200
// (RequestScope::event_stream) ends the loop after its head: After::kHandOff.
//
// The request's stop token is requested (Connection::peer_left, called by the
// reactor, which watches the socket while a worker serves it) when:
//   - the socket is reset or fails (EPOLLERR / EPOLLHUP): the client is gone;
//   - the peer's FIN arrives (EPOLLRDHUP) and no complete request head past
//     the one in flight is unread (a stray byte or a partial head never
//     completes after a FIN): the client will send nothing more and either closed
//     or half-closed after its last request. A wait (long-poll, a stream
//     waiting for a model) ends early and the route answers what it has; the
//     answer is still written, so a half-closing client (`nc -N`) still reads
//     an answer to every request (issue 10 item 6). A FIN while pipelined
//     requests are still unread is only the end of the requests: the client
//     evidently wants their answers, and nothing is cancelled until the last
//     of them is in flight;
//   - the server stops (Server::stop requests every token in flight).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "client_address.hpp"
#include "http_request_reader.hpp"
#include "request_scope.hpp"
#include "socket_io.hpp"

namespace chatd {

struct ConnectionOptions {
  RequestLimits limits;                  // bounds and deadlines of one request
  std::size_t keep_alive_max = 1000;     // requests per connection
  std::size_t linger_bytes = 16 << 20;   // discarded at most while closing
  std::chrono::milliseconds linger_timeout{2'000};
  // Whose X-Forwarded-For is believed (client_address.hpp); null: no one's.
  std::shared_ptr<const TrustedProxies> trusted_proxies;
  // serve_requests with park: after an answer with no complete head buffered,
  // how long the worker waits on the socket for the client's next request
  // before parking the connection (issue 11). A keep-alive client that sends
  // at once (an API client, a load test) is served by the same thread without
  // the reactor's hand-over: two thread switches and a queue per request.
  // The worker blocks meanwhile (no CPU). Zero: park at once.
  std::chrono::microseconds next_request_wait{0};
};

struct ConnectionHooks {
  std::function<void()> begin;  // a request is about to be read (may be empty)
  // A complete request: fill the response. Exceptions are caught (500).
  // The scope holds the client address and the request's stop token.
  std::function<void(const httplib::Request&, httplib::Response&, const RequestScope&)> handle;
  // A request refused before routing (400, 408, 413, ...): its answer is
  // rendered; `req` holds what was read (CORS headers, http_dispatch.hpp).
  std::function<void(const httplib::Request&, httplib::Response&)> refused;
  // After each answer was written (or the peer went away while it was).
  std::function<void(const httplib::Request&, const httplib::Response&)> answered;
};

// One accepted socket and what lasts across its requests. `io` and `served`
// belong to whoever holds the connection (the reactor or one worker); the
// fields under `mu` are shared with the reactor while a worker serves.
class Connection {
 public:
  // `peer`: the socket peer's address (canonical text; empty: unknown).
  Connection(int fd, std::string peer) noexcept : io(fd), peer_(std::move(peer)) {}

  SocketIo io;
  std::size_t served = 0;               // requests answered so far
  Deadline head_deadline = Deadline::max();  // the next request's, when its head began in the reactor
  // Set with After::kHandOff: the event stream whose head was written; the
  // reactor releases io's descriptor and gives both to the event pump.
  std::shared_ptr<EventStreamHandoff> event_stream;

  const std::string& peer() const noexcept { return peer_; }

  // The reactor saw the peer leave while a request may be in flight: `reset`
  // (EPOLLERR/EPOLLHUP) or only its FIN; `kernel_unread`: a complete request
  // head is still in the socket's receive queue. See the header comment.
  void peer_left(bool reset, bool kernel_unread);
  // Requests the stop token of the request in flight (graceful stop).
  void request_stop();
  // Whether a FIN or a reset was seen by the reactor or a read.
  bool peer_finished() const;

  // Worker side: a request begins; returns its token (already requested when
  // the peer has gone, or left with nothing more to send). `more_buffered`:
  // a complete request head past this request is buffered.
  std::stop_token begin_request(bool more_buffered, bool stopping);
  void end_request();

 private:
  std::string peer_;
  mutable std::mutex mu_;
  std::stop_source stop_;
  bool in_flight_ = false;
  bool more_buffered_ = false;
  bool fin_ = false;
  bool reset_ = false;
};

// What the worker did with the connection when serve_requests returns.
enum class After {
  kPark,    // keep-alive: no complete head buffered; the reactor waits for one
  kLinger,  // answered and ending: the reactor shuts the write side, discards what follows, closes
  kClose,   // the peer is gone: close at once
  // An event stream's head was written (Connection::event_stream): the
  // reactor forgets the socket without closing it and hands it to the event
  // pump. serve_connection(), which has no pump, closes it.
  kHandOff,
};

// Serves the requests buffered in `c` (at least one complete head, or one
// over its bounds) until none is complete; `park` false: waits for further
// requests on this thread (the idle timeout) instead of returning kPark.
// `stopping`: the server is stopping (answers say Connection: close). Never throws.
After serve_requests(Connection& c, const ConnectionOptions& options, const ConnectionHooks& hooks,
                     const std::atomic<bool>& stopping, bool park) noexcept;

// Serves the connected socket `fd` on this thread until it closes; closes
// `fd`. `stopping`: the server is stopping (no new request is waited for).
// Never throws.
void serve_connection(int fd, const ConnectionOptions& options, const ConnectionHooks& hooks,
                      const std::atomic<bool>& stopping) noexcept;

}  // namespace chatd
