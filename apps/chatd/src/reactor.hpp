// reactor.hpp: one thread that owns the listening socket and every connection
// while no worker serves it (issue 9, "slow clients").
//
// What it does, with epoll and non-blocking sockets:
// - accepts; over a cap it answers at once without reading the request, best
//   effort (one non-blocking write), and closes:
//     --max-connections (all open connections):   503 `unavailable`, Retry-After: 1;
//     --max-connections-per-address (per client):  429 `resource_exhausted`, Retry-After: 1
//   (the per-address count is by IPv4 address or IPv6 /64, client_address.hpp;
//   trusted proxies are exempt: every client behind them shares their address);
// - reads each connection until a complete request head is buffered
//   (http_request_reader.hpp buffered_head), and its body when it has a
//   Content-Length of at most max_buffered_body (buffered_request_span;
//   every partial request's bytes together within max_buffered_bytes, else
//   503), then hands it to a worker
//   (`serve`, on the pool); a head already over its bounds goes too (the
//   worker answers 414/431 at once without waiting);
// - deadlines: an idle keep-alive connection closes after idle_timeout (5 s)
//   without a byte; a head not complete within request_timeout of its first
//   byte is answered 408 (JSON, best effort) and closed; lingering closes end
//   after linger_timeout. Deadlines are checked every 50 ms;
// - while a worker serves a connection, watches its socket (EPOLLRDHUP,
//   EPOLLHUP, EPOLLERR, edge-triggered) and tells the connection when the
//   peer left (Connection::peer_left, http_connection.hpp: the request's stop
//   token is requested);
// - takes connections back from workers (After: park, linger or close; or
//   an event stream's kHandOff: the socket leaves the epoll set, the
//   connection counts and the per-address cap without being closed, and goes
//   to `hand_off`, the event pump, event_pump.hpp, with bounds of its own); every
//   close happens on this thread, so a descriptor is never reused while the
//   reactor still knows it.
// stop() (any thread): no more accepts (the listening socket closes), idle
// connections and partial heads close at once, every request in flight has
// its stop token requested; run() returns once the workers gave back every
// connection and lingering closes ended.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/logger.hpp"
#include "client_address.hpp"
#include "http_connection.hpp"

namespace chatd {

struct ReactorOptions {
  RequestLimits limits;  // idle_timeout, request_timeout and head bounds are the reactor's
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 256;
  // Bodies with a Content-Length up to this many bytes (the body limit) are
  // read by the reactor before a worker takes the request, so a slow body
  // holds no worker; chunked ones and `Expect: 100-continue` are read by the
  // worker. All the bytes the reactor holds for partial requests stay under
  // max_buffered_bytes: a request whose body would pass it is answered 503
  // `unavailable` (Retry-After: 1) and closed, before a worker is involved.
  std::size_t max_buffered_body = 1 << 20;
  std::size_t max_buffered_bytes = 256 << 20;
  std::size_t linger_bytes = 16 << 20;
  std::chrono::milliseconds linger_timeout{2'000};
  std::shared_ptr<const TrustedProxies> trusted_proxies;  // exempt from the per-address cap
};

class Reactor {
 public:
  // Serves one connection on a worker: serve_requests(...) with park = true.
  using Serve = std::function<After(Connection&)>;
  // Takes an event stream's socket (its head written) and the stream.
  using HandOff = std::function<void(int fd, std::shared_ptr<EventStreamHandoff> stream)>;

  // Takes the listening socket (non-blocking). `workers` runs `serve`;
  // `workers` and `logger` outlive the reactor. Throws std::system_error when
  // epoll or eventfd cannot be created.
  // `hand_off` empty: a handed-off stream is closed.
  Reactor(int listen_fd, ReactorOptions options, httplib::TaskQueue& workers, Serve serve, chat::Logger& logger,
          HandOff hand_off = {});
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // The loop; returns after stop() once every connection is closed.
  void run();
  // Graceful stop; thread-safe, idempotent.
  void stop();

  std::size_t open_connections() const noexcept { return open_.load(std::memory_order_relaxed); }
  // Connections the reactor holds (idle keep-alive, reading a head, lingering): no thread.
  std::size_t parked_connections() const noexcept { return parked_.load(std::memory_order_relaxed); }
  std::size_t refused_connections() const noexcept { return refused_.load(std::memory_order_relaxed); }
  // Bytes of partial requests the reactor holds now.
  std::size_t buffered_bytes() const noexcept { return buffered_gauge_.load(std::memory_order_relaxed); }

 private:
  struct Entry;
  enum class State { kReading, kServing, kLingering };

  void accept_all();
  void on_event(Entry& e, std::uint32_t events);
  void read_head(Entry& e);
  void hand_to_worker(Entry& e);
  void take_back(Entry& e, After after);
  void begin_linger(Entry& e);
  void drain_linger(Entry& e);
  void close_entry(Entry& e);
  void hand_off_entry(Entry& e);
  void account(Entry& e, std::size_t now_held);
  void sweep(Deadline now);
  void begin_stop();
  void watch(Entry& e, State state);
  void wake();

  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  ReactorOptions options_;
  httplib::TaskQueue& workers_;
  Serve serve_;
  chat::Logger& logger_;
  HandOff hand_off_;

  // Reactor thread only.
  std::unordered_map<Entry*, std::unique_ptr<Entry>> entries_;
  std::vector<Entry*> closed_;  // freed at the end of a batch (epoll events may still name them)
  std::unordered_map<std::string, std::size_t> per_address_;
  std::size_t serving_ = 0;
  std::size_t buffered_bytes_ = 0;  // held for connections in kReading (Entry::accounted)
  bool stop_begun_ = false;
  Deadline accept_paused_until_{};

  // Shared with workers and stop().
  std::mutex mu_;
  std::vector<std::pair<Entry*, After>> returned_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> parked_{0};
  std::atomic<std::size_t> refused_{0};
  std::atomic<std::size_t> buffered_gauge_{0};
};

}  // namespace chatd
