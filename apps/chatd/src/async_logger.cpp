#include "async_logger.hpp"

#include <unistd.h>

#include <cerrno>

namespace chatd {

namespace {

std::string_view level_name(chat::LogLevel l) {
  switch (l) {
    case chat::LogLevel::kDebug: return "DEBUG";
    case chat::LogLevel::kInfo: return "INFO";
    case chat::LogLevel::kWarn: return "WARN";
    case chat::LogLevel::kError: return "ERROR";
  }
  return "INFO";
}

}  // namespace

AsyncLogger::AsyncLogger(AsyncLoggerOptions options, std::shared_ptr<const chat::Clock> clock)
    : options_(options), clock_(std::move(clock)) {
  writer_ = std::thread([this] { run(); });
}

AsyncLogger::~AsyncLogger() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
  write_pending();
}

void AsyncLogger::log(chat::LogLevel level, std::string_view message) {
  if (!enabled(level)) return;
  const std::string stamp = chat::format_timestamp(clock_->now());
  const std::string_view name = level_name(level);
  const std::size_t size = stamp.size() + name.size() + message.size() + 3;
  const bool urgent = level >= chat::LogLevel::kWarn;
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    if (!urgent && pending_.size() + size > options_.max_buffered_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = pending_.empty();
    pending_.append(stamp).append(1, ' ').append(name).append(1, ' ');
    // One entry, one line: a message's control characters (libpq's errors
    // hold newlines and tabs) become spaces, so a reader splitting on '\n'
    // never takes a continuation for an entry of its own.
    for (const char c : message) {
      const auto u = static_cast<unsigned char>(c);
      pending_.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    pending_.push_back('\n');
  }
  if (urgent) {
    write_pending();
  } else if (was_empty) {
    wake_.notify_one();
  }
}

void AsyncLogger::flush() { write_pending(); }

void AsyncLogger::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (stop_) break;
    // Let a batch gather: one write for every line of the window.
    wake_.wait_for(lock, options_.batch_window, [this] { return stop_; });
    lock.unlock();
    write_pending();
    lock.lock();
  }
}

void AsyncLogger::write_pending() {
  std::lock_guard writing(write_mu_);
  {
    std::lock_guard lock(mu_);
    batch_.clear();
    batch_.swap(pending_);  // pending_ takes the old batch's capacity
    // The lines dropped came after those buffered: the note follows them.
    const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
    if (dropped != dropped_reported_) {
      batch_.append(chat::format_timestamp(clock_->now()))
          .append(" WARN log: ")
          .append(std::to_string(dropped - dropped_reported_))
          .append(" lines dropped (the log could not keep up)\n");
      dropped_reported_ = dropped;
    }
  }
  if (!batch_.empty()) write_all(batch_);
  // Keep a buffer of a normal batch's size, not of the largest ever seen.
  if (batch_.capacity() > 1024 * 1024) std::string().swap(batch_);
}

void AsyncLogger::write_all(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(options_.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed or full log: lose this batch, never a request
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace chatd
