// socket_io.hpp: one connected TCP socket, read through a buffer that keeps
// bytes across requests, written with a bound on every stall, closed with a
// lingering close.
//
// Why a buffer of its own: cpp-httplib 0.11.4 makes a new stream per request,
// so bytes of a pipelined next request that it had already read were lost
// (issue 10, item 5). Here the bytes stay in the buffer until a parser
// consumes them.
//
// Why a lingering close: closing a socket whose receive queue still holds
// unread bytes makes Linux send RST, and an RST makes the peer discard the
// answer it has not read yet (item 7). close_lingering() shuts the write side
// (the answer and then FIN go out), reads and discards what the peer still
// sends until its FIN, a byte bound or a deadline, and only then closes.
//
// The peer's FIN (a half-close, `shutdown(SHUT_WR)`, what `nc -N` does) is
// only the end of its requests, never a reason not to answer (item 6): reads
// report it as kEof, writes go on.
//
// Not thread-safe: one thread at a time. The reactor (reactor.hpp) and a
// worker take turns with a connection; the hand-over between them (a queue
// under a mutex) orders their accesses. Works on blocking and non-blocking
// sockets alike (every call polls before it waits). Never throws.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace chatd {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

enum class IoStatus {
  kOk,       // more bytes are buffered
  kEof,      // the peer sent FIN (and nothing more is buffered past what was there)
  kTimeout,  // the deadline passed with no new byte
  kStopped,  // `stopping` was set while waiting
  kError,    // reset or another socket error
  kAgain,    // read_now(): nothing to read now (non-blocking)
};

class SocketIo {
 public:
  explicit SocketIo(int fd) noexcept : fd_(fd) {}
  ~SocketIo();  // closes at once if close_lingering() was not called
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  int fd() const noexcept { return fd_; }

  // Bytes received and not consumed yet.
  std::string_view buffered() const noexcept { return std::string_view(buf_).substr(pos_); }
  void consume(std::size_t n) noexcept;

  // Waits until at least one more byte arrives (appended to buffered()), the
  // peer's FIN, an error, `deadline`, or, when `stopping` is given, until it
  // is set (checked every 100 ms).
  IoStatus fill(Deadline deadline, const std::atomic<bool>* stopping = nullptr);

  // One recv(2) without waiting (the reactor's read): kOk (bytes appended),
  // kAgain, kEof or kError.
  IoStatus read_now();

  // Sends every byte; a stall longer than `stall` (no byte accepted by the
  // kernel), a socket error, or `deadline` passing before the last byte went
  // out fails. `more`: more data follows at once (MSG_MORE).
  bool send_all(std::string_view data, std::chrono::milliseconds stall, bool more = false,
                Deadline deadline = Deadline::max());

  // True when the socket has seen a reset or an error (POLLERR / POLLHUP): the
  // peer is gone. A half-closed peer (FIN only) is not gone.
  bool broken() const noexcept;

  // shutdown(SHUT_WR), then discard what the peer sends until its FIN,
  // `max_bytes` or `deadline`, then close. Idempotent.
  void close_lingering(std::size_t max_bytes, Deadline deadline) noexcept;
  // Close at once (the peer is gone, or nothing can be unread).
  void close_now() noexcept;
  // The first half of close_lingering(), for the reactor, which discards what
  // follows without a thread: shutdown(SHUT_WR) and drop the buffer.
  void shutdown_write() noexcept;
  // Gives up the descriptor without closing it (an event stream handed to the
  // event pump, event_pump.hpp); buffered bytes are dropped. Returns it.
  int release() noexcept;

 private:
  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace chatd
