// The event pump (event_pump.hpp) over fake event streams and socketpairs:
// frames and their order, many streams, a slow reader dropped at the cap,
// heartbeats, reset, a client that hangs up, a deleted conversation, graceful
// stop, round robin between a long replay and a live stream, big events to
// clients that do not read, and a client that sends (issue 14).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat/logger.hpp"
#include "chatd/wait.hpp"
#include "event_pump.hpp"

using chatd_test::eventually;
using namespace std::chrono_literals;

namespace {

// A change log shared by a test and its fake streams.
struct Log {
  std::mutex mu;
  std::vector<chat::Event> events;  // ids 1..n
  bool reset_next = false;          // the next read answers reset
  bool gone = false;                // reads answer kNotFound
  std::vector<std::string> trace;   // "<name>:<n events>" per read, in order

  void append(chat::EventType type, std::string content) {
    std::lock_guard lock(mu);
    chat::Event e;
    e.id = static_cast<std::int64_t>(events.size()) + 1;
    e.type = type;
    chat::Message m;
    m.id = e.id;
    m.content = std::move(content);
    e.message = std::move(m);
    events.push_back(std::move(e));
  }
};

class FakeStream : public chat::EventStream {
 public:
  FakeStream(std::shared_ptr<Log> log, std::string name, std::int64_t cursor, chat::EventListener listener,
             std::shared_ptr<std::atomic<int>> destroyed)
      : log_(std::move(log)), name_(std::move(name)), cursor_(cursor), listener_(std::move(listener)),
        destroyed_(std::move(destroyed)) {}
  ~FakeStream() override {
    if (destroyed_) destroyed_->fetch_add(1);
  }
  const chat::Conversation& conversation() const noexcept override { return conversation_; }
  std::int64_t cursor() const noexcept override { return cursor_; }
  chat::Result<chat::EventPage> read(std::int64_t limit, std::size_t max_bytes) override {
    std::lock_guard lock(log_->mu);
    // As libchat: once its conversation.deleted was read, the conversation is not visible.
    if (log_->gone || deleted_read_) return chat::Error::not_found("conversation not found");
    chat::EventPage page;
    page.last_id = static_cast<std::int64_t>(log_->events.size());
    if (log_->reset_next) {
      log_->reset_next = false;
      page.reset = true;
      cursor_ = page.last_id;
      log_->trace.push_back(name_ + ":reset");
      return page;
    }
    std::size_t bytes = 0;  // as libchat: stop after the event whose bytes reach max_bytes
    for (const auto& e : log_->events) {
      if (e.id <= cursor_) continue;
      if (static_cast<std::int64_t>(page.events.size()) == limit || (max_bytes > 0 && bytes >= max_bytes)) {
        page.has_more = true;
        break;
      }
      page.events.push_back(e);
      bytes += e.message ? e.message->content.size() : 0;
    }
    if (!page.events.empty()) cursor_ = page.events.back().id;
    for (const auto& e : page.events) deleted_read_ = deleted_read_ || e.type == chat::EventType::kConversationDeleted;
    log_->trace.push_back(name_ + ":" + std::to_string(page.events.size()));
    return page;
  }
  void notify() {
    if (listener_.changed) listener_.changed();
  }
  void typing(bool active) {
    chat::Event e;
    e.type = chat::EventType::kTyping;
    e.typing = chat::Typing{"7", chat::Role::kUser, active};
    if (listener_.ephemeral) listener_.ephemeral(e);
  }

 private:
  std::shared_ptr<Log> log_;
  std::string name_;
  std::int64_t cursor_;
  chat::EventListener listener_;
  std::shared_ptr<std::atomic<int>> destroyed_;
  chat::Conversation conversation_;
  bool deleted_read_ = false;
};

// Renders the message content (or the typing state) as the data line.
std::optional<std::string> render(const chat::Event& e) {
  if (e.type == chat::EventType::kTyping) return std::string(e.typing->active ? "{\"typing\":true}" : "{\"typing\":false}");
  if (e.message) return "\"" + e.message->content + "\"";
  return std::nullopt;
}

// One client: our end of a socketpair, and what it read.
struct Client {
  int fd = -1;
  std::string got;
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  // Reads what is there now; false at EOF or error.
  bool pump_once() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
      return false;
    }
  }
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    return eventually([&] { pump_once(); return got.find(needle) != std::string::npos; }, timeout);
  }
  bool read_until_eof(std::chrono::milliseconds timeout = 10s) {
    return eventually([&] { return !pump_once(); }, timeout);
  }
};

struct Opened {
  std::unique_ptr<Client> client;
  FakeStream* stream = nullptr;  // owned by the pump: gone once the pump drops the stream
  chat::EventListener listener;  // the pump's, by stream id: safe to call after a drop
};

// A typing event through the pump's listener, not the stream (which the pump
// may have destroyed meanwhile).
void typing_via_pump(const Opened& o, bool active) {
  chat::Event e;
  e.type = chat::EventType::kTyping;
  e.typing = chat::Typing{"7", chat::Role::kUser, active};
  o.listener.ephemeral(e);
}

Opened open(chatd::EventPump& pump, std::shared_ptr<Log> log, std::string name, std::int64_t cursor = 0,
            bool chunked = false, std::shared_ptr<std::atomic<int>> destroyed = nullptr, int sndbuf = 0) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  if (sndbuf > 0) {
    ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
  }
  auto h = std::make_shared<chatd::EventStreamHandoff>();
  h->id = pump.next_id();
  auto stream = std::make_unique<FakeStream>(std::move(log), std::move(name), cursor, pump.listener(h->id),
                                             std::move(destroyed));
  Opened out;
  out.stream = stream.get();
  out.listener = pump.listener(h->id);
  h->stream = std::move(stream);
  h->render = render;
  h->chunked = chunked;
  pump.adopt(sv[0], h);
  out.client = std::make_unique<Client>();
  out.client->fd = sv[1];
  return out;
}

chatd::EventPumpOptions fast_options() {
  chatd::EventPumpOptions o;
  return o;
}

}  // namespace

TEST_CASE("event pump: retry and ready first, then every event in order with its id and type", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto log = std::make_shared<Log>();
  log->append(chat::EventType::kMessageCreated, "one");
  log->append(chat::EventType::kMessageUpdated, "two");
  auto s = open(pump, log, "a", 0);
  REQUIRE(s.client->read_until("\"two\""));
  const std::string& got = s.client->got;
  CHECK(got.rfind("retry: 3000\n\n", 0) == 0);
  CHECK(got.find("id: 0\nevent: ready\ndata: {\"cursor\":0}\n\n") != std::string::npos);
  const auto one = got.find("id: 1\nevent: message.created\ndata: \"one\"\n\n");
  const auto two = got.find("id: 2\nevent: message.updated\ndata: \"two\"\n\n");
  CHECK(one != std::string::npos);
  CHECK(two != std::string::npos);
  CHECK(one < two);

  // Live: a change after the replay arrives once the listener says so.
  log->append(chat::EventType::kMessageDeleted, "three");
  s.stream->notify();
  REQUIRE(s.client->read_until("id: 3\nevent: message.deleted\ndata: \"three\"\n\n"));
  CHECK(pump.open_streams() == 1);
  CHECK(pump.events_sent() >= 3);

  // Typing has no id line.
  s.stream->typing(true);
  REQUIRE(s.client->read_until("event: typing\ndata: {\"typing\":true}\n\n"));
  CHECK(s.client->got.find("id: 0\nevent: typing") == std::string::npos);
}

TEST_CASE("event pump: 300 streams each get a change published to all of them", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto log = std::make_shared<Log>();
  std::vector<Opened> streams;
  for (int i = 0; i < 300; ++i) streams.push_back(open(pump, log, std::to_string(i)));
  REQUIRE(eventually([&] { return pump.open_streams() == 300; }));
  log->append(chat::EventType::kMessageCreated, "hello");
  for (auto& s : streams) s.stream->notify();
  for (auto& s : streams) REQUIRE(s.client->read_until("id: 1\nevent: message.created\ndata: \"hello\""));
}

TEST_CASE("event pump: a reader that stops reading is dropped at the pending cap, others carry on", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPumpOptions o;
  o.max_pending_bytes = 64 * 1024;
  chatd::EventPump pump(o, *logger);
  auto log = std::make_shared<Log>();
  for (int i = 0; i < 100; ++i) log->append(chat::EventType::kMessageCreated, std::string(8 * 1024, 'x'));
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  auto slow = open(pump, log, "slow", 0, false, destroyed, 16 * 1024);
  auto fine = open(pump, log, "fine", 100);
  // The slow client reads nothing: the first batch fills the socket and stays
  // pending; typing events pile up on top of it until the cap.
  REQUIRE(eventually([&] {
    typing_via_pump(slow, true);
    return pump.dropped_clients() == 1;
  }));
  REQUIRE(eventually([&] { return destroyed->load() == 1; }));
  CHECK(pump.open_streams() == 1);
  // What it had been sent ends; it never saw every event.
  REQUIRE(slow.client->read_until_eof());
  CHECK(slow.client->got.find("id: 100\n") == std::string::npos);
  // The other stream is untouched.
  log->append(chat::EventType::kMessageCreated, "after");
  fine.stream->notify();
  REQUIRE(fine.client->read_until("id: 101\nevent: message.created\ndata: \"after\""));
}

TEST_CASE("event pump: a slow reader of a long replay is paused, not dropped, and gets everything in order",
          "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPumpOptions o;
  o.max_pending_bytes = 64 * 1024;
  chatd::EventPump pump(o, *logger);
  auto log = std::make_shared<Log>();
  for (int i = 0; i < 2000; ++i) log->append(chat::EventType::kMessageCreated, std::to_string(i + 1));
  auto s = open(pump, log, "replay", 0, false, nullptr, 8 * 1024);
  // Reads in small sips.
  REQUIRE(eventually([&] {
    char buf[512];
    const ssize_t n = ::recv(s.client->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) s.client->got.append(buf, static_cast<std::size_t>(n));
    return s.client->got.find("id: 2000\n") != std::string::npos;
  }, 30s));
  CHECK(pump.dropped_clients() == 0);
  std::size_t at = 0;
  for (int i = 1; i <= 2000; ++i) {
    const auto next = s.client->got.find("id: " + std::to_string(i) + "\n", at);
    REQUIRE(next != std::string::npos);
    at = next;
  }
}

TEST_CASE("event pump: a quiet stream gets heartbeat comments", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPumpOptions o;
  o.heartbeat = 100ms;
  chatd::EventPump pump(o, *logger);
  auto s = open(pump, std::make_shared<Log>(), "quiet");
  REQUIRE(s.client->read_until(": heartbeat\n\n"));
}

TEST_CASE("event pump: a reset is sent with the new cursor, then the stream goes on", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto log = std::make_shared<Log>();
  log->append(chat::EventType::kMessageCreated, "old");
  log->reset_next = true;
  auto s = open(pump, log, "r", 0);
  REQUIRE(s.client->read_until("event: reset\n"));
  CHECK(s.client->got.find("id: 1\nevent: reset\ndata: {\"reset\":true,\"reload\":true,\"cursor\":1") !=
        std::string::npos);
  CHECK(s.client->got.find("\"old\"") == std::string::npos);
  log->append(chat::EventType::kMessageCreated, "new");
  s.stream->notify();
  REQUIRE(s.client->read_until("id: 2\nevent: message.created\ndata: \"new\""));
}

TEST_CASE("event pump: a client that hangs up is closed and its stream destroyed", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  auto s = open(pump, std::make_shared<Log>(), "gone", 0, false, destroyed);
  REQUIRE(s.client->read_until("event: ready"));
  ::shutdown(s.client->fd, SHUT_WR);  // its FIN: EPOLLRDHUP
  REQUIRE(eventually([&] { return destroyed->load() == 1; }));
  CHECK(pump.open_streams() == 0);
  CHECK(pump.dropped_clients() == 0);
}

TEST_CASE("event pump: a stream whose conversation is gone ends after what was sent, with the last chunk",
          "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto log = std::make_shared<Log>();
  log->append(chat::EventType::kConversationDeleted, "bye");
  auto s = open(pump, log, "d", 0, /*chunked=*/true);
  // The pump reads again after a delete, without a change: that read is not visible.
  REQUIRE(s.client->read_until("event: conversation.deleted"));
  REQUIRE(s.client->read_until_eof());
  const std::string& got = s.client->got;
  REQUIRE(got.size() >= 5);
  CHECK(got.substr(got.size() - 5) == "0\r\n\r\n");
}

TEST_CASE("event pump: chunked framing, and a graceful stop ends every stream with the last chunk", "[events]") {
  auto logger = chat::make_null_logger();
  auto pump = std::make_unique<chatd::EventPump>(fast_options(), *logger);
  auto log = std::make_shared<Log>();
  log->append(chat::EventType::kMessageCreated, "x");
  std::vector<Opened> streams;
  for (int i = 0; i < 20; ++i) streams.push_back(open(*pump, log, std::to_string(i), 0, true));
  for (auto& s : streams) REQUIRE(s.client->read_until("data: \"x\"\n\n\r\n"));
  // A chunk: hex size, CRLF, the frames, CRLF.
  const std::string& first = streams[0].client->got;
  const auto crlf = first.find("\r\n");
  REQUIRE(crlf != std::string::npos);
  const auto size = std::stoul(first.substr(0, crlf), nullptr, 16);
  CHECK(first.substr(crlf + 2 + size, 2) == "\r\n");
  pump->stop();
  CHECK(pump->open_streams() == 0);
  for (auto& s : streams) {
    REQUIRE(s.client->read_until_eof());
    CHECK(s.client->got.substr(s.client->got.size() - 5) == "0\r\n\r\n");
  }
  // Adopted after the stop: closed at once.
  auto late = open(*pump, log, "late", 0, true);
  REQUIRE(late.client->read_until_eof());
}

TEST_CASE("event pump: a long replay does not hold back a live stream (round robin)", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto backlog = std::make_shared<Log>();
  for (int i = 0; i < 20'000; ++i) backlog->append(chat::EventType::kMessageCreated, "b");
  auto live_log = std::make_shared<Log>();
  auto live = open(pump, live_log, "live", 0);
  REQUIRE(live.client->read_until("event: ready"));
  auto replay = open(pump, backlog, "replay", 0, false, nullptr, 16 * 1024);
  std::atomic<bool> done{false};
  std::thread reader([&] {  // a client on a slow link: 4 KiB every 5 ms
    char buf[4096];
    while (!done.load()) {
      (void)::recv(replay.client->fd, buf, sizeof buf, MSG_DONTWAIT);
      std::this_thread::sleep_for(5ms);
    }
  });
  REQUIRE(eventually([&] {
    std::lock_guard lock(backlog->mu);
    return backlog->trace.size() >= 2;
  }));
  live_log->append(chat::EventType::kMessageCreated, "now");
  live.stream->notify();
  REQUIRE(live.client->read_until("data: \"now\""));
  std::size_t replay_reads_before = 0;
  {
    std::lock_guard lock(backlog->mu);
    replay_reads_before = backlog->trace.size();
  }
  done.store(true);
  reader.join();
  // 20,000 events are 200 reads of 100; the live event went out long before the last.
  CHECK(replay_reads_before < 200);
}

TEST_CASE("event pump: 256 KiB events to clients that do not read: bounded memory, others prompt, stop prompt",
          "[events]") {
  auto logger = chat::make_null_logger();
  auto pump = std::make_unique<chatd::EventPump>(fast_options(), *logger);
  const chatd::EventPumpOptions o = fast_options();
  constexpr std::size_t kEvent = 256 * 1024;
  auto big = std::make_shared<Log>();
  for (int i = 0; i < 100; ++i) big->append(chat::EventType::kMessageCreated, std::string(kEvent, 'x'));
  // 100 events of 256 KiB: one unbounded read was 25 MB per stream.
  constexpr int kStalled = 40;
  std::vector<Opened> stalled;
  for (int i = 0; i < kStalled; ++i) stalled.push_back(open(*pump, big, "s" + std::to_string(i), 0, true, nullptr, 16 * 1024));
  auto live_log = std::make_shared<Log>();
  auto live = open(*pump, live_log, "live", 0, true);
  REQUIRE(live.client->read_until("event: ready"));
  REQUIRE(eventually([&] {
    std::lock_guard lock(big->mu);
    return big->trace.size() >= static_cast<std::size_t>(kStalled);
  }, 30s));
  // Another stream is served at once (generous bound: the machine is loaded).
  live_log->append(chat::EventType::kMessageCreated, "now");
  const auto sent_at = std::chrono::steady_clock::now();
  live.stream->notify();
  REQUIRE(live.client->read_until("data: \"now\"", 10s));
  CHECK(std::chrono::steady_clock::now() - sent_at < 2s);
  // Each stalled stream holds at most the cap plus one batch (here: one event).
  const std::size_t per_stream = o.max_pending_bytes + o.read_max_bytes + kEvent + 4096;
  CHECK(pump->pending_bytes() <= kStalled * per_stream);
  {
    std::lock_guard lock(big->mu);
    std::size_t events_read = 0;
    for (const auto& t : big->trace) events_read += std::stoul(t.substr(t.find(':') + 1));
    // A paused stream is not read on: a few events each, never the backlog.
    CHECK(events_read <= static_cast<std::size_t>(kStalled) * 8);
  }
  CHECK(pump->dropped_clients() == 0);  // paused, not dropped, until the stall timeout
  // Stop with every stream full: prompt (it was 12-14 s in chatd with 25 MB batches).
  const auto stop_at = std::chrono::steady_clock::now();
  pump->stop();
  CHECK(std::chrono::steady_clock::now() - stop_at < 2s);
  CHECK(pump->open_streams() == 0);
  CHECK(pump->pending_bytes() == 0);
}

TEST_CASE("event pump: a stop while big batches are being read returns promptly", "[events]") {
  auto logger = chat::make_null_logger();
  auto pump = std::make_unique<chatd::EventPump>(fast_options(), *logger);
  auto big = std::make_shared<Log>();
  for (int i = 0; i < 100; ++i) big->append(chat::EventType::kMessageCreated, std::string(256 * 1024, 'y'));
  std::vector<Opened> streams;
  for (int i = 0; i < 60; ++i) streams.push_back(open(*pump, big, std::to_string(i), 0, true));
  const auto stop_at = std::chrono::steady_clock::now();
  pump->stop();
  CHECK(std::chrono::steady_clock::now() - stop_at < 2s);
  for (auto& s : streams) REQUIRE(s.client->read_until_eof());
}

TEST_CASE("event pump: a client that sends anything is closed with the last chunk and counted", "[events]") {
  auto logger = chat::make_null_logger();
  chatd::EventPump pump(fast_options(), *logger);
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  auto s = open(pump, std::make_shared<Log>(), "talker", 0, /*chunked=*/true, destroyed);
  auto quiet = open(pump, std::make_shared<Log>(), "quiet", 0, true);
  REQUIRE(s.client->read_until("event: ready"));
  REQUIRE(quiet.client->read_until("event: ready"));
  const std::string junk(64 * 1024, 'z');
  (void)::send(s.client->fd, junk.data(), junk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  REQUIRE(eventually([&] { return destroyed->load() == 1; }));
  CHECK(pump.closed_for_input() == 1);
  CHECK(pump.open_streams() == 1);
  (void)s.client->read_until_eof();
  CHECK(s.client->got.find("0\r\n\r\n") != std::string::npos);
}
