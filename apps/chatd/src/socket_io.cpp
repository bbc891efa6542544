#include "socket_io.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace chatd {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr auto kStopCheck = std::chrono::milliseconds(100);

// Milliseconds from now until `deadline`, clamped to [0, cap].
int poll_millis(Deadline deadline, std::chrono::milliseconds cap) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::clamp(left, std::chrono::milliseconds(0), cap).count());
}

}  // namespace

SocketIo::~SocketIo() { close_now(); }

int SocketIo::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  buf_.clear();
  pos_ = 0;
  return fd;
}

void SocketIo::consume(std::size_t n) noexcept {
  pos_ = std::min(pos_ + n, buf_.size());
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
}

IoStatus SocketIo::fill(Deadline deadline, const std::atomic<bool>* stopping) {
  if (fd_ < 0) return IoStatus::kError;
  for (;;) {
    if (stopping != nullptr && stopping->load(std::memory_order_relaxed)) return IoStatus::kStopped;
    const auto cap = stopping != nullptr ? kStopCheck : std::chrono::milliseconds(60'000);
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, poll_millis(deadline, cap));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return IoStatus::kError;
    }
    if (ready == 0) {
      if (SteadyClock::now() >= deadline) return IoStatus::kTimeout;
      continue;
    }
    // Compact before growing: consumed bytes at the front are dead weight.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    const std::size_t old = buf_.size();
    buf_.resize(old + kReadChunk);
    const ssize_t n = ::recv(fd_, buf_.data() + old, kReadChunk, MSG_DONTWAIT);
    buf_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n > 0) return IoStatus::kOk;
    if (n == 0) return IoStatus::kEof;
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    return IoStatus::kError;
  }
}

IoStatus SocketIo::read_now() {
  if (fd_ < 0) return IoStatus::kError;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const std::size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  ssize_t n = 0;
  do {
    n = ::recv(fd_, buf_.data() + old, kReadChunk, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  buf_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  if (n > 0) return IoStatus::kOk;
  if (n == 0) return IoStatus::kEof;
  return errno == EAGAIN || errno == EWOULDBLOCK ? IoStatus::kAgain : IoStatus::kError;
}

bool SocketIo::send_all(std::string_view data, std::chrono::milliseconds stall, bool more, Deadline deadline) {
  if (fd_ < 0) return false;
  const int flags = MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0);
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), flags);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    // The send queue is full: wait for room, at most `stall` and never past `deadline`.
    if (deadline != Deadline::max() && SteadyClock::now() >= deadline) return false;
    pollfd p{fd_, POLLOUT, 0};
    int ready = 0;
    do {
      ready = ::poll(&p, 1, deadline == Deadline::max() ? static_cast<int>(stall.count()) : poll_millis(deadline, stall));
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0 || (p.revents & (POLLERR | POLLHUP)) != 0) return false;
  }
  return true;
}

bool SocketIo::broken() const noexcept {
  if (fd_ < 0) return true;
  pollfd p{fd_, 0, 0};
  if (::poll(&p, 1, 0) < 0) return false;
  return (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

void SocketIo::close_lingering(std::size_t max_bytes, Deadline deadline) noexcept {
  if (fd_ < 0) return;
  ::shutdown(fd_, SHUT_WR);
  std::size_t discarded = buf_.size() - pos_;
  buf_.clear();
  pos_ = 0;
  char sink[16 * 1024];
  while (discarded <= max_bytes) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, poll_millis(deadline, std::chrono::milliseconds(60'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // deadline or error
    const ssize_t n = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
    if (n == 0) break;  // the peer's FIN: nothing more can arrive
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      break;
    }
    discarded += static_cast<std::size_t>(n);
  }
  close_now();
}

void SocketIo::shutdown_write() noexcept {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  buf_.clear();
  pos_ = 0;
}

void SocketIo::close_now() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
}

}  // namespace chatd
