#include "event_pump.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "socket_io.hpp"

namespace chatd {

namespace {

constexpr int kMaxEvents = 256;
constexpr std::uint64_t kWakeTag = 0;  // stream ids start at 1
// Typing events waiting for the pump, all streams together: past it they are
// dropped (they are best effort; a flood must not grow memory).
constexpr std::size_t kMaxQueuedEphemeral = 65'536;
// A drained buffer keeps its allocation up to this; a larger one (after a big
// batch) is freed, so 10,000 quiet streams do not each keep their largest batch.
constexpr std::size_t kKeptBufferBytes = 16 * 1024;

// `data:` lines of an SSE frame: one per line of `text` (renderers give one).
void append_data(std::string& out, std::string_view text) {
  for (;;) {
    const auto nl = text.find('\n');
    out.append("data: ").append(text.substr(0, nl)).append("\n");
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

void append_frame(std::string& out, std::optional<std::int64_t> id, std::string_view type, std::string_view data) {
  if (id) out.append("id: ").append(std::to_string(*id)).append("\n");
  out.append("event: ").append(type).append("\n");
  append_data(out, data);
  out.append("\n");
}

}  // namespace

struct EventPump::Entry {
  std::uint64_t id = 0;
  int fd = -1;
  std::shared_ptr<EventStreamHandoff> h;
  std::string pending;  // framed bytes not taken by the kernel yet, from `sent` on
  std::size_t sent = 0;
  bool dirty = true;    // the log may hold events this stream has not read
  bool queued = false;  // in runnable_
  bool want_out = false;
  bool ended = false;
  Deadline last_write{};
  Deadline last_progress{};
  std::size_t accounted = 0;  // this stream's share of pending_bytes_

  bool idle() const noexcept { return sent == pending.size(); }
  std::size_t unsent() const noexcept { return pending.size() - sent; }
};

EventPump::EventPump(EventPumpOptions options, chat::Logger& logger) : options_(options), logger_(logger) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    const int err = errno;
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    throw std::system_error(err, std::generic_category(), "event pump: epoll/eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { run(); });
}

EventPump::~EventPump() {
  stop();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

chat::EventListener EventPump::listener(std::uint64_t id) {
  chat::EventListener l;
  l.changed = [this, id] {
    bool need_wake = false;
    {
      std::lock_guard lock(mu_);
      changed_.push_back(id);
      need_wake = !woken_;
      woken_ = true;
    }
    if (need_wake) wake();
  };
  l.ephemeral = [this, id](const chat::Event& event) {
    bool need_wake = false;
    {
      std::lock_guard lock(mu_);
      if (ephemeral_.size() >= kMaxQueuedEphemeral) return;
      ephemeral_.emplace_back(id, event);
      need_wake = !woken_;
      woken_ = true;
    }
    if (need_wake) wake();
  };
  return l;
}

void EventPump::adopt(int fd, std::shared_ptr<EventStreamHandoff> stream) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      adopted_.emplace_back(fd, std::move(stream));
      woken_ = true;
      fd = -1;
    }
  }
  if (fd >= 0) {
    // Stopping: the head went out; end the body at once.
    if (stream && stream->chunked) (void)::send(fd, "0\r\n\r\n", 5, MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
    return;  // `stream` is destroyed here: its slot returns
  }
  wake();
}

void EventPump::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EventPump::wake() {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void EventPump::run() {
  epoll_event events[kMaxEvents];
  Deadline last_sweep = SteadyClock::now();
  // Heartbeats and stall checks at a fraction of their periods, at most every second.
  const auto sweep_every = std::max(std::chrono::milliseconds(10),
                                    std::min({std::chrono::milliseconds(1'000), options_.heartbeat / 4,
                                              options_.write_stall_timeout / 4}));
  for (;;) {
    const int timeout = runnable_.empty() ? static_cast<int>(sweep_every.count()) : 0;
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) {
      logger_.log(chat::LogLevel::kError, std::string("event pump: epoll_wait failed: ") + std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        std::uint64_t count = 0;
        (void)!::read(wake_fd_, &count, sizeof count);
        continue;
      }
      auto it = entries_.find(tag);
      if (it != entries_.end() && !it->second->ended) on_socket(*it->second, events[i].events);
    }
    bool stop = false;
    {
      std::lock_guard lock(mu_);
      stop = stopping_;
    }
    if (stop) {
      take_inbox();
      end_all();
      return;
    }
    take_inbox();
    // Bounded per turn by batches and by rendered bytes: the sockets, new
    // streams and stop() wait for at most one turn.
    std::size_t rendered = 0;
    for (std::size_t k = 0; k < options_.reads_per_turn && rendered < options_.turn_max_bytes && !runnable_.empty();
         ++k) {
      const std::uint64_t id = runnable_.front();
      runnable_.pop_front();
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      it->second->queued = false;
      rendered += read_some(*it->second);
    }
    const Deadline now = SteadyClock::now();
    if (now - last_sweep >= sweep_every) {
      last_sweep = now;
      sweep();
    }
    // Streams are destroyed here, outside every lock (a stream's destructor
    // unsubscribes from the publisher, which may be calling our listener).
    for (std::uint64_t id : ended_) entries_.erase(id);
    ended_.clear();
  }
}

void EventPump::take_inbox() {
  std::vector<std::pair<int, std::shared_ptr<EventStreamHandoff>>> adopted;
  std::vector<std::uint64_t> changed;
  std::vector<std::pair<std::uint64_t, chat::Event>> ephemeral;
  {
    std::lock_guard lock(mu_);
    adopted.swap(adopted_);
    changed.swap(changed_);
    ephemeral.swap(ephemeral_);
    woken_ = false;
  }
  const Deadline now = SteadyClock::now();
  for (auto& [fd, h] : adopted) {
    auto owned = std::make_unique<Entry>();
    Entry& e = *owned;
    e.id = h->id;
    e.fd = fd;
    e.h = std::move(h);
    e.last_write = e.last_progress = now;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = e.id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    open_.fetch_add(1, std::memory_order_relaxed);
    entries_.emplace(e.id, std::move(owned));
    std::string opening = "retry: " + std::to_string(options_.retry.count()) + "\n\n";
    const std::int64_t cursor = e.h->stream->cursor();
    append_frame(opening, cursor, "ready", "{\"cursor\":" + std::to_string(cursor) + "}");
    append(e, opening);
    if (!e.ended) schedule(e);
  }
  for (std::uint64_t id : changed) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->ended) continue;
    it->second->dirty = true;
    schedule(*it->second);
  }
  for (auto& [id, event] : ephemeral) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->ended) continue;
    Entry& e = *it->second;
    auto data = e.h->render ? e.h->render(event) : std::nullopt;
    if (!data) continue;
    std::string frame;
    append_frame(frame, std::nullopt, chat::event_type_name(event.type), *data);
    events_sent_.fetch_add(1, std::memory_order_relaxed);
    append(e, frame);
  }
}

void EventPump::schedule(Entry& e) {
  if (e.ended || e.queued || !e.dirty || !e.idle()) return;
  e.queued = true;
  runnable_.push_back(e.id);
}

std::size_t EventPump::read_some(Entry& e) {
  if (e.ended || !e.dirty || !e.idle()) return 0;
  e.dirty = false;
  auto page = e.h->stream->read(options_.read_batch, options_.read_max_bytes);
  if (!page) {
    // Not visible any more (deleted, after its conversation.deleted was sent),
    // or the service failed: the stream ends after what was written.
    if (page.error().code != chat::ErrorCode::kNotFound) {
      logger_.log(chat::LogLevel::kWarn, "event pump: a stream ended: " + page.error().message);
    }
    end(e, /*graceful=*/true);
    return 0;
  }
  std::string out;
  bool again = page->has_more;
  if (page->reset) {
    const std::int64_t cursor = e.h->stream->cursor();
    append_frame(out, cursor, "reset",
                 "{\"reset\":true,\"reload\":true,\"cursor\":" + std::to_string(cursor) +
                     ",\"message\":\"the events after Last-Event-ID are no longer kept; reload the conversation\"}");
    again = true;
  }
  std::uint64_t sent = 0;
  for (const chat::Event& ev : page->events) {
    if (ev.type == chat::EventType::kConversationDeleted) again = true;  // the next read ends the stream
    auto data = e.h->render ? e.h->render(ev) : std::nullopt;
    if (!data) continue;
    append_frame(out, ev.id > 0 ? std::optional<std::int64_t>(ev.id) : std::nullopt, chat::event_type_name(ev.type),
                 *data);
    ++sent;
  }
  events_sent_.fetch_add(sent, std::memory_order_relaxed);
  // Into an empty buffer (read only when idle): kept whole even past the cap;
  // the stream is not read again until the client took all of it.
  if (!out.empty()) append(e, out);
  if (again && !e.ended) {
    e.dirty = true;
    schedule(e);
  }
  return out.size();
}

void EventPump::append(Entry& e, std::string_view frame) {
  if (e.ended || frame.empty()) return;
  const bool chunked = e.h->chunked;
  const std::size_t framed = frame.size() + (chunked ? 20 : 0);
  // The log is read only into an empty buffer (a batch is bounded by
  // read_max_bytes), so only what is added to a buffer the client has not
  // taken yet (typing, heartbeats) is checked against the cap.
  if (!e.idle() && e.unsent() + framed > options_.max_pending_bytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    end(e, /*graceful=*/false);
    return;
  }
  if (e.idle()) {
    e.pending.clear();
    e.sent = 0;
  } else if (e.sent > e.pending.size() / 2) {
    e.pending.erase(0, e.sent);
    e.sent = 0;
  }
  if (chunked) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", frame.size());
    e.pending.append(size).append(frame).append("\r\n");
  } else {
    e.pending.append(frame);
  }
  e.last_write = SteadyClock::now();
  flush(e);
}

bool EventPump::flush(Entry& e) {
  const bool was_busy = !e.idle();
  while (!e.idle()) {
    const ssize_t n = ::send(e.fd, e.pending.data() + e.sent, e.unsent(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      e.sent += static_cast<std::size_t>(n);
      e.last_progress = SteadyClock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!e.want_out) {
        e.want_out = true;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
        ev.data.u64 = e.id;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.fd, &ev);
      }
      if (!was_busy) e.last_progress = SteadyClock::now();  // the stall clock starts now
      account(e);
      return true;
    }
    end(e, /*graceful=*/false);  // reset, broken pipe: the client is gone
    return false;
  }
  if (e.pending.capacity() > kKeptBufferBytes) {
    std::string().swap(e.pending);
  } else {
    e.pending.clear();
  }
  e.sent = 0;
  account(e);
  if (e.want_out) {
    e.want_out = false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = e.id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.fd, &ev);
  }
  schedule(e);
  return true;
}

void EventPump::on_socket(Entry& e, std::uint32_t events) {
  if ((events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) {
    end(e, /*graceful=*/false);
    return;
  }
  if ((events & EPOLLIN) != 0) {
    // An EventSource sends nothing after its request: any byte ends the
    // stream (one read, never a loop: a flooder must not hold this thread).
    char sink[4096];
    ssize_t n = 0;
    do {
      n = ::recv(e.fd, sink, sizeof sink, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      closed_for_input_.fetch_add(1, std::memory_order_relaxed);
      end(e, /*graceful=*/true);
      return;
    }
    if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
      end(e, /*graceful=*/false);
      return;
    }
  }
  if ((events & EPOLLOUT) != 0) flush(e);
}

void EventPump::sweep() {
  const Deadline now = SteadyClock::now();
  static constexpr std::string_view kHeartbeat = ": heartbeat\n\n";
  for (auto& [id, owned] : entries_) {
    Entry& e = *owned;
    if (e.ended) continue;
    if (!e.idle() && now - e.last_progress >= options_.write_stall_timeout) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      end(e, /*graceful=*/false);
      continue;
    }
    if (now - e.last_write >= options_.heartbeat) append(e, kHeartbeat);
  }
}

void EventPump::end(Entry& e, bool graceful) {
  if (e.ended) return;
  if (graceful && e.h->chunked) {
    // The last chunk, best effort: the client learns the body ended cleanly.
    e.pending.append("0\r\n\r\n");
    while (!e.idle()) {
      const ssize_t n = ::send(e.fd, e.pending.data() + e.sent, e.unsent(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0) break;
      e.sent += static_cast<std::size_t>(n);
    }
  }
  e.ended = true;
  std::string().swap(e.pending);
  e.sent = 0;
  account(e);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, e.fd, nullptr);
  ::shutdown(e.fd, SHUT_WR);
  ::close(e.fd);
  e.fd = -1;
  open_.fetch_sub(1, std::memory_order_relaxed);
  ended_.push_back(e.id);
}

void EventPump::account(Entry& e) {
  const std::size_t now = e.unsent();
  if (now >= e.accounted) {
    pending_bytes_.fetch_add(now - e.accounted, std::memory_order_relaxed);
  } else {
    pending_bytes_.fetch_sub(e.accounted - now, std::memory_order_relaxed);
  }
  e.accounted = now;
}

void EventPump::end_all() {
  for (auto& [id, owned] : entries_) end(*owned, /*graceful=*/true);
  ended_.clear();
  entries_.clear();
  runnable_.clear();
}

}  // namespace chatd
