// async_logger.hpp: chatd's logger: the stderr logger's lines, written by a
// background thread in batches so that no worker waits on the log's file.
//
// Why (issue 11): the access log is one info line per request. Written one
// fwrite(stderr) per line under a mutex, as chat::make_stderr_logger does, it
// was one write(2) per request on every worker, serialised on the mutex, and
// on a slow terminal, pipe or disk each request waited for it.
//
// Lines are formatted as chat::make_stderr_logger formats them
// ("2024-06-29T10:00:00.000Z INFO message\n", the time taken when log() is
// called) and appear in the order log() was called in.
// - Info and debug lines go to a buffer; the writer thread wakes when one
//   lands in an empty buffer, waits `batch_window` for more, and writes them
//   all with write(2). log() never touches the file.
// - When the buffer holds `max_buffered_bytes` (the file cannot keep up),
//   further info and debug lines are dropped and counted (dropped()); the next
//   batch written ends with "WARN log: N lines dropped (the log could not
//   keep up)". A worker is never slowed by a slow log.
// - Warnings and errors are never dropped: log() writes the buffer and the
//   line before it returns (they are rare, and a process that exits right
//   after one, e.g. chatd's second signal, must leave it in the file).
// - The destructor writes out everything buffered and joins the thread.
// Write errors are ignored (as fwrite to stderr's are): the log is not a
// reason to fail a request.
//
// Thread-safe: log() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "chat/logger.hpp"
#include "chat/time.hpp"

namespace chatd {

struct AsyncLoggerOptions {
  int fd = 2;  // the file written (not closed by the logger)
  chat::LogLevel min_level = chat::LogLevel::kInfo;
  std::size_t max_buffered_bytes = 8 * 1024 * 1024;  // about 100,000 access lines
  std::chrono::milliseconds batch_window{20};
};

class AsyncLogger final : public chat::Logger {
 public:
  AsyncLogger(AsyncLoggerOptions options, std::shared_ptr<const chat::Clock> clock);
  ~AsyncLogger() override;
  AsyncLogger(const AsyncLogger&) = delete;
  AsyncLogger& operator=(const AsyncLogger&) = delete;

  bool enabled(chat::LogLevel level) const override { return level >= options_.min_level; }
  void log(chat::LogLevel level, std::string_view message) override;

  // Writes what is buffered now, before returning.
  void flush();
  // Lines dropped because the buffer was full, since the start.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Takes the buffer (and a note of lines dropped) under mu_; writes it under write_mu_.
  void write_pending();
  void write_all(const std::string& bytes);

  const AsyncLoggerOptions options_;
  const std::shared_ptr<const chat::Clock> clock_;
  std::mutex mu_;  // pending_, stop_
  std::condition_variable wake_;
  std::string pending_;
  bool stop_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t dropped_reported_ = 0;  // under mu_
  std::mutex write_mu_;                 // one writer of the file at a time, in buffer order
  std::string batch_;                   // under write_mu_: the buffer being written, kept for its capacity
  std::thread writer_;
};

}  // namespace chatd
