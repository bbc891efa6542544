#include "store/postgres/notices.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "store/postgres/rows.hpp"

namespace chat::pg {

namespace {

constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5000;

}  // namespace

Notices::Notices(Database& db) : db_(db), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Notices::~Notices() {
  stop_ = true;
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
  {
    std::lock_guard lk(start_mu_);
    if (thread_.joinable()) thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Notices::set_listener(ChangeListener listener) {
  const bool start = static_cast<bool>(listener);
  {
    std::lock_guard lk(listener_mu_);
    listener_ = std::move(listener);
  }
  if (!start) return;
  std::lock_guard lk(start_mu_);
  if (!thread_.joinable() && !stop_ && wake_fd_ >= 0) thread_ = std::thread([this] { run(); });
}

Status Notices::publish(std::int64_t conversation_id, std::string_view payload) {
  if (payload.size() > kMaxEphemeralPayloadBytes) return Error::invalid("payload", "ephemeral payload too large");
  std::string text = db_.instance_id();
  text += ' ';
  text += std::to_string(conversation_id);
  text += ' ';
  text.append(payload);
  return db_.with_conn<void>([&](Conn& c) -> Status {
    c.exec("SELECT pg_notify('chat_ephemeral', $1)", Params().add(text));
    return {};
  });
}

void Notices::deliver(const ExternalChange& change) {
  std::lock_guard lk(listener_mu_);
  if (!listener_) return;
  try {
    listener_(change);
  } catch (...) {  // NOLINT: a listener must not throw; the thread goes on
    db_.log(LogLevel::kError, "postgres store: a change listener threw");
  }
}

// "<instance> <conversation>[ <payload>]"
void Notices::handle(std::string_view channel, std::string_view text) {
  const auto sp = text.find(' ');
  if (sp == std::string_view::npos) return;
  if (text.substr(0, sp) == db_.instance_id()) return;  // our own
  std::string_view rest = text.substr(sp + 1);
  const auto sp2 = rest.find(' ');
  const std::string_view id_text = rest.substr(0, sp2);
  std::int64_t id = 0;
  if (std::from_chars(id_text.data(), id_text.data() + id_text.size(), id).ec != std::errc()) return;
  ExternalChange change;
  change.conversation_id = id;
  if (channel == "chat_ephemeral") {
    if (sp2 == std::string_view::npos) return;
    change.ephemeral = std::string(rest.substr(sp2 + 1));
    if (change.ephemeral.empty()) return;
  }
  deliver(change);
}

bool Notices::wait_stop(int timeout_ms) {
  pollfd p{wake_fd_, POLLIN, 0};
  ::poll(&p, 1, timeout_ms);
  return stop_.load();
}

void Notices::run() {
  int backoff = kFirstBackoffMs;
  bool lost = false;
  while (!stop_) {
    std::unique_ptr<Conn> conn;
    try {
      conn = db_.connect();
      conn->run("LISTEN chat_change; LISTEN chat_ephemeral");
    } catch (const std::exception& e) {
      db_.log(LogLevel::kWarn, std::string("postgres store: notice listener cannot connect: ") + e.what());
      if (wait_stop(backoff)) break;
      backoff = std::min(backoff * 2, kMaxBackoffMs);
      lost = true;
      continue;
    }
    backoff = kFirstBackoffMs;
    if (lost) {
      // Notices sent while we were away are gone: everything may have changed.
      db_.log(LogLevel::kInfo, "postgres store: notice listener reconnected");
      deliver(ExternalChange{0, {}});
    }
    PGconn* c = conn->raw();
    const int sock = PQsocket(c);
    while (!stop_) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, 1000);
      if (stop_) break;
      if (n < 0) continue;
      if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) break;
      while (PGnotify* note = PQnotifies(c)) {
        std::unique_ptr<PGnotify, decltype(&PQfreemem)> owned(note, &PQfreemem);
        handle(note->relname != nullptr ? note->relname : "", note->extra != nullptr ? note->extra : "");
        PQconsumeInput(c);
      }
    }
    if (stop_) break;
    db_.log(LogLevel::kWarn, "postgres store: notice listener lost its connection; reconnecting");
    lost = true;
    if (wait_stop(backoff)) break;
  }
}

}  // namespace chat::pg
