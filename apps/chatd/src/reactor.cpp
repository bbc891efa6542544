#include "reactor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>

#include "http_errors.hpp"
#include "http_response_writer.hpp"

namespace chatd {

namespace {

constexpr auto kSweepEvery = std::chrono::milliseconds(50);
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr int kMaxEvents = 256;
constexpr int kMaxAcceptsPerWake = 512;  // then serve the other events

std::string peer_text(const sockaddr_storage& a) { return canonical_address(socket_address_text(a)); }

// A whole answer of the reactor's own (caps, head deadline): one JSON error,
// then the connection ends.
std::string error_answer(int status, std::string_view code, std::string_view message, bool retry_after) {
  const std::string body = error_body(code, message);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n";
  if (retry_after) out += "Retry-After: 1\r\n";
  out += "\r\n";
  out += body;
  return out;
}

// Best effort and without waiting: what the client sent so far is read first
// (closing over unread bytes would reset the connection and the answer with it).
void answer_and_close(int fd, const std::string& answer) {
  char sink[4096];
  for (int i = 0; i < 4 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
  }
  (void)::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

// Whether the bytes the kernel holds unread on `fd` (peeked, not consumed)
// begin with a complete request head.
bool unread_request_pending(int fd, const RequestLimits& limits) {
  int unread = 0;
  if (::ioctl(fd, FIONREAD, &unread) != 0 || unread <= 0) return false;
  std::string peeked(std::min<std::size_t>(static_cast<std::size_t>(unread), 64 << 10), '\0');
  const ssize_t n = ::recv(fd, peeked.data(), peeked.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return false;
  peeked.resize(static_cast<std::size_t>(n));
  const HeadState head = buffered_head(peeked, limits);
  // Past the peek's size an over-long head is still a request to answer (414/431).
  return head == HeadState::kComplete || head == HeadState::kOverBounds;
}

}  // namespace

struct Reactor::Entry {
  Entry(int fd, std::string peer) : conn(fd, std::move(peer)) {}
  Connection conn;
  State state = State::kReading;
  Deadline deadline{};
  bool head_started = false;
  bool closed = false;
  std::size_t lingered = 0;
  std::size_t accounted = 0;  // bytes of this entry counted in buffered_bytes_
  std::string cap_key;  // empty: exempt from the per-address cap
};

Reactor::Reactor(int listen_fd, ReactorOptions options, httplib::TaskQueue& workers, Serve serve,
                 chat::Logger& logger, HandOff hand_off)
    : listen_fd_(listen_fd),
      options_(std::move(options)),
      workers_(workers),
      serve_(std::move(serve)),
      logger_(logger),
      hand_off_(std::move(hand_off)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    const int err = errno;
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    throw std::system_error(err, std::generic_category(), "reactor: epoll/eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.ptr = &wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

Reactor::~Reactor() {
  for (auto& [p, e] : entries_) e->conn.io.close_now();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void Reactor::stop() {
  stopping_.store(true);
  wake();
}

void Reactor::wake() {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Reactor::watch(Entry& e, State state) {
  e.state = state;
  epoll_event ev{};
  // While a worker serves, only the peer leaving is of interest, once
  // (edge-triggered: a half-closed peer would otherwise report forever).
  ev.events = state == State::kServing ? (EPOLLRDHUP | EPOLLET) : (EPOLLIN | EPOLLRDHUP);
  ev.data.ptr = &e;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.conn.io.fd(), &ev);
}

void Reactor::run() {
  epoll_event events[kMaxEvents];
  Deadline last_sweep = SteadyClock::now();
  for (;;) {
    if (stopping_.load() && !stop_begun_) begin_stop();
    if (stop_begun_ && open_.load() == 0) break;
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(kSweepEvery.count()));
    if (n < 0 && errno != EINTR) {
      logger_.log(chat::LogLevel::kError, std::string("http: epoll_wait failed: ") + std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listen_fd_) {
        accept_all();
      } else if (tag == &wake_fd_) {
        std::uint64_t count = 0;
        (void)!::read(wake_fd_, &count, sizeof count);
      } else {
        auto* e = static_cast<Entry*>(tag);
        if (!e->closed) on_event(*e, events[i].events);
      }
    }
    std::vector<std::pair<Entry*, After>> back;
    {
      std::lock_guard lock(mu_);
      back.swap(returned_);
    }
    for (auto [e, after] : back) take_back(*e, after);
    const Deadline now = SteadyClock::now();
    if (now - last_sweep >= kSweepEvery) {
      last_sweep = now;
      sweep(now);
    }
    if (accept_paused_until_ != Deadline{} && now >= accept_paused_until_ && listen_fd_ >= 0) {
      accept_paused_until_ = Deadline{};
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &listen_fd_;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    }
    for (Entry* e : closed_) entries_.erase(e);
    closed_.clear();
  }
  // Only after an epoll failure can connections remain; workers may still hold some.
  while (serving_ > 0) {
    std::vector<std::pair<Entry*, After>> back;
    {
      std::lock_guard lock(mu_);
      back.swap(returned_);
    }
    for (auto [e, after] : back) {
      --serving_;
      close_entry(*e);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& [p, e] : entries_) close_entry(*e);
}

void Reactor::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerWake && listen_fd_ >= 0; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment rather than spin on
        // a listening socket that stays readable.
        logger_.log(chat::LogLevel::kWarn, std::string("http: accept paused: ") + std::strerror(errno));
        accept_paused_until_ = SteadyClock::now() + kAcceptPause;
        epoll_event ev{};
        ev.data.ptr = &listen_fd_;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
        return;
      }
      logger_.log(chat::LogLevel::kWarn, std::string("http: accept failed: ") + std::strerror(errno));
      return;
    }
    std::string peer = peer_text(addr);
    if (open_.load() >= options_.max_connections) {
      refused_.fetch_add(1);
      static const std::string kFull =
          error_answer(503, "unavailable", "the server has too many open connections; retry later", true);
      answer_and_close(fd, kFull);
      continue;
    }
    const bool exempt = options_.trusted_proxies && options_.trusted_proxies->contains(peer);
    std::string key = exempt ? std::string() : connection_cap_key(peer);
    if (!key.empty()) {
      auto& count = per_address_[key];
      if (count >= options_.max_connections_per_address) {
        refused_.fetch_add(1);
        static const std::string kTooMany = error_answer(
            429, "resource_exhausted", "too many open connections from this address (--max-connections-per-address)",
            true);
        answer_and_close(fd, kTooMany);
        continue;
      }
      ++count;
    }
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);  // 43 ms per answer otherwise
    auto owned = std::make_unique<Entry>(fd, std::move(peer));
    Entry& e = *owned;
    e.cap_key = std::move(key);
    e.deadline = SteadyClock::now() + options_.limits.idle_timeout;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = &e;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      if (!e.cap_key.empty() && --per_address_[e.cap_key] == 0) per_address_.erase(e.cap_key);
      continue;  // the Entry closes the socket
    }
    open_.fetch_add(1);
    parked_.fetch_add(1);
    entries_.emplace(&e, std::move(owned));
  }
}

void Reactor::on_event(Entry& e, std::uint32_t events) {
  switch (e.state) {
    case State::kReading:
      if ((events & EPOLLERR) != 0) {
        close_entry(e);
        return;
      }
      read_head(e);
      return;
    case State::kServing: {
      if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
        e.conn.peer_left(/*reset=*/true, false);
      } else if ((events & EPOLLRDHUP) != 0) {
        // The peer sent FIN: it can send nothing more, so only a complete
        // request among the bytes it sent before counts as one it waits an
        // answer for (a pipelining, half-closing client). A stray byte or a
        // partial head after the request in flight is no reason to keep
        // waiting for a client that left. Only this thread closes
        // descriptors: the socket is still open.
        e.conn.peer_left(/*reset=*/false, unread_request_pending(e.conn.io.fd(), options_.limits));
      }
      return;
    }
    case State::kLingering:
      drain_linger(e);
      return;
  }
}

void Reactor::account(Entry& e, std::size_t now_held) {
  buffered_bytes_ = buffered_bytes_ - e.accounted + now_held;
  e.accounted = now_held;
  buffered_gauge_.store(buffered_bytes_, std::memory_order_relaxed);
}

void Reactor::read_head(Entry& e) {
  SocketIo& io = e.conn.io;
  for (;;) {
    const IoStatus st = io.read_now();
    if (st == IoStatus::kOk) account(e, io.buffered().size());
    if (st == IoStatus::kAgain) return;
    if (st == IoStatus::kError) {
      close_entry(e);
      return;
    }
    const HeadState head = buffered_head(io.buffered(), options_.limits);
    if (st == IoStatus::kEof) {
      e.conn.peer_left(false, false);
      if (head == HeadState::kNone) {
        close_entry(e);  // left between requests: nothing is unread
      } else {
        hand_to_worker(e);  // complete: answered; partial: answered 400, as a worker reading it would
      }
      return;
    }
    if (head != HeadState::kNone && !e.head_started) {
      // The request's first byte: its deadline starts (whatever idle wait came before).
      e.head_started = true;
      e.deadline = SteadyClock::now() + options_.limits.request_timeout;
    }
    if (head == HeadState::kOverBounds) {
      hand_to_worker(e);
      return;
    }
    if (head == HeadState::kComplete) {
      // A small body is read here too: a client that sends its body slowly
      // then holds no worker either (the request deadline still runs).
      const std::size_t span = buffered_request_span(io.buffered(), options_.max_buffered_body);
      if (span == 0 || io.buffered().size() >= span) {
        hand_to_worker(e);
        return;
      }
      if (buffered_bytes_ - e.accounted + span > options_.max_buffered_bytes) {
        // Holding this body would pass the budget, and a worker waiting for
        // it could be held by a slow client: refuse it now.
        refused_.fetch_add(1);
        static const std::string kBusy = error_answer(
            503, "unavailable", "the server is reading too many request bodies; retry later", true);
        (void)::send(io.fd(), kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        begin_linger(e);
        return;
      }
    }
  }
}

void Reactor::hand_to_worker(Entry& e) {
  account(e, 0);  // the worker's now
  parked_.fetch_sub(1);
  ++serving_;
  e.conn.head_deadline = e.head_started ? e.deadline : Deadline::max();
  e.head_started = false;
  watch(e, State::kServing);
  Entry* p = &e;
  workers_.enqueue([this, p] {
    const After after = serve_(p->conn);
    {
      std::lock_guard lock(mu_);
      returned_.emplace_back(p, after);
    }
    wake();
  });
}

void Reactor::take_back(Entry& e, After after) {
  --serving_;
  parked_.fetch_add(1);
  e.state = State::kReading;  // parked again, whatever comes next
  switch (after) {
    case After::kClose:
      close_entry(e);
      return;
    case After::kLinger:
      begin_linger(e);
      return;
    case After::kHandOff:
      hand_off_entry(e);
      return;
    case After::kPark:
      break;
  }
  if (stop_begun_) {
    close_entry(e);
    return;
  }
  const HeadState head = buffered_head(e.conn.io.buffered(), options_.limits);
  account(e, e.conn.io.buffered().size());
  e.head_started = head != HeadState::kNone;
  e.deadline = SteadyClock::now() + (e.head_started ? options_.limits.request_timeout : options_.limits.idle_timeout);
  watch(e, State::kReading);
}

void Reactor::begin_linger(Entry& e) {
  account(e, 0);  // what was buffered is dropped unread
  e.conn.io.shutdown_write();
  e.lingered = 0;
  e.deadline = SteadyClock::now() + options_.linger_timeout;
  watch(e, State::kLingering);
}

void Reactor::drain_linger(Entry& e) {
  char sink[16 * 1024];
  for (;;) {
    const ssize_t n = ::recv(e.conn.io.fd(), sink, sizeof sink, MSG_DONTWAIT);
    if (n > 0) {
      e.lingered += static_cast<std::size_t>(n);
      if (e.lingered > options_.linger_bytes) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;  // the peer's FIN, or an error
  }
  close_entry(e);
}

void Reactor::close_entry(Entry& e) {
  if (e.closed) return;
  e.closed = true;
  account(e, 0);
  if (e.state != State::kServing) parked_.fetch_sub(1);
  e.conn.io.close_now();  // also leaves the epoll set
  if (!e.cap_key.empty()) {
    auto it = per_address_.find(e.cap_key);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }
  open_.fetch_sub(1);
  closed_.push_back(&e);
}

void Reactor::hand_off_entry(Entry& e) {
  if (e.closed) return;
  e.closed = true;
  account(e, 0);
  parked_.fetch_sub(1);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, e.conn.io.fd(), nullptr);
  if (!e.cap_key.empty()) {
    auto it = per_address_.find(e.cap_key);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }
  open_.fetch_sub(1);
  closed_.push_back(&e);
  const int fd = e.conn.io.release();
  auto stream = std::move(e.conn.event_stream);
  if (hand_off_ && stream) {
    hand_off_(fd, std::move(stream));
  } else {
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }
}

void Reactor::sweep(Deadline now) {
  for (auto& [p, owned] : entries_) {
    Entry& e = *owned;
    if (e.closed || e.state == State::kServing || now < e.deadline) continue;
    if (e.state == State::kLingering || !e.head_started) {
      close_entry(e);  // linger over, or idle past the keep-alive timeout
      continue;
    }
    if (buffered_head(e.conn.io.buffered(), options_.limits) == HeadState::kComplete) {
      // A body not complete in time: a worker answers the 408 at once (its
      // deadline has passed), through the connection's hooks, so a browser's
      // request gets its CORS headers and the access log its line.
      hand_to_worker(e);
      continue;
    }
    // A head not complete within the request deadline: 408, then a lingering close.
    static const std::string kTimeout = error_answer(
        408, "request_timeout", "the request was not complete within the request timeout (--request-timeout)", false);
    (void)::send(e.conn.io.fd(), kTimeout.data(), kTimeout.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    begin_linger(e);
  }
}

void Reactor::begin_stop() {
  stop_begun_ = true;
  if (listen_fd_ >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  for (auto& [p, owned] : entries_) {
    Entry& e = *owned;
    if (e.closed) continue;
    if (e.state == State::kReading) {
      close_entry(e);  // idle, or a head not complete: no request is in flight
    } else if (e.state == State::kServing) {
      e.conn.request_stop();
    }
  }
}

}  // namespace chatd
