// Event stream routes (event_stream_route.hpp) over a small fake service:
// each API's GET .../events opens a stream handed to the pump; its errors
// (401, 404, 400, 429); typing; stream tickets; and the ticket kept out of
// the access log (issue 14).
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth.hpp"
#include "chatd/raw_http.hpp"
#include "chatd/stub_service.hpp"
#include "chatd/wait.hpp"
#include "routes/routes.hpp"
#include "server.hpp"
#include "stream_tickets.hpp"

using chatd_test::RawConnection;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSecret = "event-routes-test-secret";

class QuietStream : public chat::EventStream {
 public:
  QuietStream(chat::Conversation c, std::int64_t cursor) : c_(std::move(c)), cursor_(cursor) {}
  const chat::Conversation& conversation() const noexcept override { return c_; }
  std::int64_t cursor() const noexcept override { return cursor_; }
  chat::Result<chat::EventPage> read(std::int64_t, std::size_t) override { return chat::EventPage{}; }

 private:
  chat::Conversation c_;
  std::int64_t cursor_;
};

// One conversation (id 1, uuid "u-1", handle "s-1", job "j-1", owner user "1")
// that every API can name; anything else, or another user, is not found.
struct FakeService : chatd_test::StubChatService {
  std::mutex mu;
  std::vector<std::pair<std::string, bool>> typing;  // (user, active)
  std::atomic<int> opened{0};

  static bool names_ours(const chat::ConversationKey& k) {
    using By = chat::ConversationKey::By;
    if (k.by == By::kId) return k.id == 1;
    return k.text == "u-1" || k.text == "s-1" || k.text == "j-1" || k.text == "1";
  }
  static bool sees(const chat::Principal& who) { return who.user_id == "1" || who.is_anonymous(); }

  chat::Result<std::unique_ptr<chat::EventStream>> open_event_stream(const chat::Principal& who,
                                                                     const chat::ConversationKey& key,
                                                                     std::optional<std::int64_t> after,
                                                                     chat::EventListener) override {
    if (!names_ours(key) || !sees(who)) return chat::Error::not_found("conversation not found");
    ++opened;
    chat::Conversation c;
    c.id = 1;
    c.uuid = "u-1";
    return std::unique_ptr<chat::EventStream>(std::make_unique<QuietStream>(c, after.value_or(42)));
  }
  chat::Status send_typing(const chat::Principal& who, const chat::ConversationKey& key, bool active) override {
    if (!names_ours(key) || !sees(who)) return chat::Error::not_found("conversation not found");
    std::lock_guard lock(mu);
    typing.emplace_back(who.user_id, active);
    return {};
  }
};

struct CapturingLogger : chat::Logger {
  std::mutex mu;
  std::string text;
  void log(chat::LogLevel, std::string_view message) override {
    std::lock_guard lock(mu);
    text.append(message).append("\n");
  }
  std::string all() {
    std::lock_guard lock(mu);
    return text;
  }
};

struct Fixture {
  std::shared_ptr<FakeService> service = std::make_shared<FakeService>();
  std::shared_ptr<CapturingLogger> logger = std::make_shared<CapturingLogger>();
  std::shared_ptr<chat::ManualClock> clock =
      std::make_shared<chat::ManualClock>(chat::from_millis(1'767'225'600'000));
  std::unique_ptr<chatd::Server> server;
  chatd::JwtTokens tokens{kSecret, clock};

  explicit Fixture(int per_address = 1000) {
    chatd::Config config;
    config.port = 0;
    config.threads = 8;
    config.rate_limits.enabled = false;
    config.max_event_streams_per_address = per_address;
    server = std::make_unique<chatd::Server>(config, chatd::ServerDeps{service, kSecret, clock, logger});
    chatd::register_all_routes(server->router(), server->context());
    REQUIRE(server->start().ok());
  }
  ~Fixture() { server->stop(); }

  std::string token(const std::string& sub) {
    auto t = tokens.issue(chat::Principal::user(sub), std::chrono::hours(1));
    REQUIRE(t.ok());
    return *t;
  }

  httplib::Result request(const std::string& method, const std::string& path, const std::string& bearer = {},
                          const httplib::Headers& extra = {}, const std::string& body = {}) {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(10, 0);
    httplib::Headers h = extra;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    if (method == "POST") return c.Post(path.c_str(), h, body, "application/json");
    return c.Get(path.c_str(), h);
  }
};

// An open stream: the raw connection and what it read so far.
struct Stream {
  std::unique_ptr<RawConnection> conn;
  std::string got;

  bool read_until(const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (got.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{conn->fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(conn->fd(), buf, sizeof buf, 0);
      if (n <= 0) return false;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
};

Stream open_stream(Fixture& f, const std::string& path, const std::string& extra_headers = {}) {
  Stream s;
  s.conn = std::make_unique<RawConnection>(f.server->port());
  REQUIRE(s.conn->send("GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" + extra_headers +
                       "\r\n"));
  return s;
}

}  // namespace

TEST_CASE("event routes: each API's stream opens with the SSE head and a ready frame, held by the pump",
          "[events]") {
  Fixture f;
  const std::string alice = f.token("1");
  const std::vector<std::pair<std::string, std::string>> paths = {
      {"/api/messages/u-1/events", ""},
      {"/api/chats/sessions/s-1/events/", ""},
      {"/chat/conversations/1/events", alice},
      {"/api/jobs/j-1/quote-chat/events", alice},
      {"/api/chat/u-1/events", alice},
  };
  std::vector<Stream> open;
  for (const auto& [path, bearer] : paths) {
    INFO(path);
    auto s = open_stream(f, path, bearer.empty() ? "" : "Authorization: Bearer " + bearer + "\r\n");
    REQUIRE(s.read_until("event: ready\ndata: {\"cursor\":42}"));
    CHECK(s.got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(s.got.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(s.got.find("Cache-Control: no-cache\r\n") != std::string::npos);
    CHECK(s.got.find("X-Accel-Buffering: no\r\n") != std::string::npos);
    CHECK(s.got.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(s.got.find("retry: 3000") != std::string::npos);
    open.push_back(std::move(s));
  }
  // Held by the pump: no worker, no reactor connection.
  REQUIRE(chatd_test::eventually([&] { return f.server->open_connections() == 0; }));
  auto metrics = f.request("GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("chatd_open_event_streams 5") != std::string::npos);
  // A hang-up frees the stream.
  open.clear();
  REQUIRE(chatd_test::eventually([&] {
    auto m = f.request("GET", "/metrics");
    return m && m->body.find("chatd_open_event_streams 0") != std::string::npos;
  }));
}

TEST_CASE("event routes: 401 without a token, 404 for another user's or an unknown conversation", "[events]") {
  Fixture f;
  const std::string bob = f.token("2");
  for (const std::string path : {"/chat/conversations/1/events", "/api/jobs/j-1/quote-chat/events",
                                 "/api/chat/u-1/events"}) {
    INFO(path);
    auto anon = f.request("GET", path);
    REQUIRE(anon);
    CHECK(anon->status == 401);
    auto other = f.request("GET", path, bob);
    REQUIRE(other);
    CHECK(other->status == 404);
  }
  auto unknown = f.request("GET", "/api/messages/nope/events");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json::parse(unknown->body)["error"]["code"] == "not_found");
}

TEST_CASE("event routes: Last-Event-ID, else ?last_event_id, the header winning, bad ones 400", "[events]") {
  Fixture f;
  for (const std::string bad : {"abc", "-1", "1.5", "99999999999999999999"}) {
    INFO(bad);
    auto r = f.request("GET", "/api/messages/u-1/events", {}, {{"Last-Event-ID", bad}});
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["error"]["field"] == "last_event_id");
  }
  auto q = f.request("GET", "/api/messages/u-1/events?last_event_id=x");
  REQUIRE(q);
  CHECK(q->status == 400);

  auto by_query = open_stream(f, "/api/messages/u-1/events?last_event_id=7");
  REQUIRE(by_query.read_until("id: 7\nevent: ready"));
  auto header_wins = open_stream(f, "/api/messages/u-1/events?last_event_id=x", "Last-Event-ID: 9\r\n");
  REQUIRE(header_wins.read_until("id: 9\nevent: ready"));
}

TEST_CASE("event routes: past the per-address share, 429 with Retry-After and the JSON error", "[events]") {
  Fixture f(/*per_address=*/2);
  auto a = open_stream(f, "/api/messages/u-1/events");
  auto b = open_stream(f, "/api/messages/u-1/events");
  REQUIRE(a.read_until("event: ready"));
  REQUIRE(b.read_until("event: ready"));
  auto refused = f.request("GET", "/api/messages/u-1/events");
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(refused->has_header("Retry-After"));
  CHECK(json::parse(refused->body)["error"]["code"] == "resource_exhausted");
  // A closed stream gives its slot back.
  a.conn->close();
  REQUIRE(chatd_test::eventually([&] {
    auto r = open_stream(f, "/api/messages/u-1/events");
    return r.read_until("event: ready", 2s);
  }));
}

TEST_CASE("event routes: typing is 204 for the API's callers, 401/404/400 otherwise", "[events]") {
  Fixture f;
  const std::string alice = f.token("1");
  auto on = f.request("POST", "/chat/conversations/1/events/typing", alice, {}, "");
  REQUIRE(on);
  CHECK(on->status == 204);
  auto off = f.request("POST", "/chat/conversations/1/events/typing", alice, {}, R"({"active": false})");
  REQUIRE(off);
  CHECK(off->status == 204);
  {
    std::lock_guard lock(f.service->mu);
    REQUIRE(f.service->typing.size() == 2);
    CHECK(f.service->typing[0] == std::make_pair(std::string("1"), true));
    CHECK(f.service->typing[1] == std::make_pair(std::string("1"), false));
  }
  auto anon_ok = f.request("POST", "/api/messages/u-1/events/typing", {}, {}, "{}");
  REQUIRE(anon_ok);
  CHECK(anon_ok->status == 204);
  auto no_token = f.request("POST", "/chat/conversations/1/events/typing", {}, {}, "{}");
  REQUIRE(no_token);
  CHECK(no_token->status == 401);
  auto other = f.request("POST", "/chat/conversations/1/events/typing", f.token("2"), {}, "{}");
  REQUIRE(other);
  CHECK(other->status == 404);
  auto bad = f.request("POST", "/chat/conversations/1/events/typing", alice, {}, R"({"active": "yes"})");
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

TEST_CASE("event routes: a ticket opens its one stream once, and stays out of the access log", "[events]") {
  Fixture f;
  const std::string alice = f.token("1");
  auto anon = f.request("POST", "/chat/conversations/1/events/ticket", {}, {}, "");
  REQUIRE(anon);
  CHECK(anon->status == 401);
  auto other = f.request("POST", "/chat/conversations/1/events/ticket", f.token("2"), {}, "");
  REQUIRE(other);
  CHECK(other->status == 404);

  auto issued = f.request("POST", "/chat/conversations/1/events/ticket", alice, {}, "");
  REQUIRE(issued);
  REQUIRE(issued->status == 200);
  const auto body = json::parse(issued->body);
  CHECK(body["expires_in"] == 60);
  const std::string ticket = body["ticket"];

  // Not for another path.
  auto elsewhere = f.request("GET", "/api/chat/u-1/events?ticket=" + ticket);
  REQUIRE(elsewhere);
  CHECK(elsewhere->status == 401);
  // Not as a bearer token.
  auto as_bearer = f.request("GET", "/chat/conversations/1", ticket);
  REQUIRE(as_bearer);
  CHECK(as_bearer->status == 401);

  auto s = open_stream(f, "/chat/conversations/1/events?ticket=" + ticket);
  REQUIRE(s.read_until("event: ready"));
  auto again = f.request("GET", "/chat/conversations/1/events?ticket=" + ticket);
  REQUIRE(again);
  CHECK(again->status == 401);
  CHECK(json::parse(again->body)["error"]["message"].get<std::string>().find("already used") != std::string::npos);

  // A bearer token is no ticket.
  auto bearer_as_ticket = f.request("GET", "/chat/conversations/1/events?ticket=" + alice);
  REQUIRE(bearer_as_ticket);
  CHECK(bearer_as_ticket->status == 401);

  REQUIRE(chatd_test::eventually([&] { return f.logger->all().find("/chat/conversations/1/events") != std::string::npos; }));
  CHECK(f.logger->all().find(ticket) == std::string::npos);
  CHECK(f.logger->all().find("ticket=") == std::string::npos);
}

TEST_CASE("stream tickets: path, expiry, single use, and separate keys from bearer tokens", "[events]") {
  auto clock = std::make_shared<chat::ManualClock>(chat::from_millis(1'767'225'600'000));
  chatd::StreamTickets tickets(kSecret, clock);
  chatd::JwtTokens bearer(kSecret, clock);
  const auto who = chat::Principal::agent("5");

  auto t = tickets.issue(who, "/chat/conversations/3/events/");
  REQUIRE(t.ok());
  // The trailing slash does not matter; the path does.
  CHECK(tickets.redeem(*t, "/chat/conversations/4/events").error().code == chat::ErrorCode::kUnauthenticated);
  auto ok = tickets.redeem(*t, "/chat/conversations/3/events");
  REQUIRE(ok.ok());
  CHECK(ok->user_id == "5");
  CHECK(ok->role == chat::PrincipalRole::kAgent);
  CHECK_FALSE(tickets.redeem(*t, "/chat/conversations/3/events").ok());  // used

  auto late = tickets.issue(who, "/x/events");
  REQUIRE(late.ok());
  clock->advance(std::chrono::seconds(61));
  auto expired = tickets.redeem(*late, "/x/events");
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.error().message.find("expired") != std::string::npos);

  auto fresh = tickets.issue(who, "/x/events");
  REQUIRE(fresh.ok());
  CHECK_FALSE(bearer.verify(*fresh).ok());  // a ticket is no bearer token
  auto token = bearer.issue(who, std::chrono::hours(1));
  REQUIRE(token.ok());
  CHECK_FALSE(tickets.redeem(*token, "/x/events").ok());  // a bearer token is no ticket
  CHECK_FALSE(tickets.issue(chat::Principal::anonymous(), "/x/events").ok());

  // Bounded: past max_used unexpired tickets, redeeming waits for expiries.
  chatd::StreamTickets small(kSecret, clock, std::chrono::seconds(60), 2);
  for (int i = 0; i < 2; ++i) REQUIRE(small.redeem(*small.issue(who, "/p"), "/p").ok());
  CHECK(small.redeem(*small.issue(who, "/p"), "/p").error().code == chat::ErrorCode::kUnavailable);
  clock->advance(std::chrono::seconds(61));
  CHECK(small.redeem(*small.issue(who, "/p"), "/p").ok());
}

TEST_CASE("event routes: a graceful server stop ends every stream with the last chunk", "[events]") {
  Fixture f;
  std::vector<Stream> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(open_stream(f, "/api/messages/u-1/events"));
    REQUIRE(open.back().read_until("event: ready"));
  }
  f.server->stop();
  for (auto& s : open) {
    REQUIRE(s.read_until("0\r\n\r\n"));
    CHECK(s.conn->closed_within(5s));
  }
}

TEST_CASE("event routes: a ticket with an Authorization header is refused, 401 when the header is bad", "[events]") {
  Fixture f;
  const std::string alice = f.token("1");
  const std::string path = "/chat/conversations/1/events";
  auto mint = [&] {
    auto r = f.request("POST", path + "/ticket", alice, {}, "");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body)["ticket"].get<std::string>();
  };
  const std::string ticket = mint();
  auto bad_header = f.request("GET", path + "?ticket=" + ticket, {}, {{"Authorization", "Bearer nonsense"}});
  REQUIRE(bad_header);
  CHECK(bad_header->status == 401);
  auto good_header = f.request("GET", path + "?ticket=" + ticket, alice);
  REQUIRE(good_header);
  CHECK(good_header->status == 400);
  CHECK(json::parse(good_header->body)["error"]["field"] == "ticket");
  // On a capability API too, and neither refusal used the ticket.
  auto anon_api = f.request("GET", "/api/messages/u-1/events?ticket=x", {}, {{"Authorization", "Basic abc"}});
  REQUIRE(anon_api);
  CHECK(anon_api->status == 401);
  auto s = open_stream(f, path + "?ticket=" + ticket);
  REQUIRE(s.read_until("event: ready"));
}

TEST_CASE("event routes: HEAD answers GET's head without using the ticket or opening a stream", "[events]") {
  Fixture f;
  const std::string alice = f.token("1");
  const std::string path = "/chat/conversations/1/events";
  auto issued = f.request("POST", path + "/ticket", alice, {}, "");
  REQUIRE(issued);
  const std::string ticket = json::parse(issued->body)["ticket"];
  const int opened_before = f.service->opened.load();
  RawConnection head(f.server->port());
  REQUIRE(head.send("HEAD " + path + "?ticket=" + ticket + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got;
  REQUIRE(chatd_test::eventually([&] {
    char buf[4096];
    const ssize_t n = ::recv(head.fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    return n == 0;  // the head, then close
  }));
  CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(got.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(got.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(got.find("Content-Length") == std::string::npos);
  CHECK(got.substr(got.find("\r\n\r\n") + 4).empty());  // no body
  CHECK(f.service->opened.load() == opened_before + 1);  // a visibility probe, at once destroyed
  auto metrics = f.request("GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("chatd_open_event_streams 0") != std::string::npos);
  // HEAD with a bad ticket: GET's 401.
  RawConnection bad(f.server->port());
  REQUIRE(bad.send("HEAD " + path + "?ticket=nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string bad_got;
  REQUIRE(chatd_test::eventually([&] {
    char buf[4096];
    const ssize_t n = ::recv(bad.fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) bad_got.append(buf, static_cast<std::size_t>(n));
    return bad_got.find("\r\n\r\n") != std::string::npos;
  }));
  CHECK(bad_got.rfind("HTTP/1.1 401", 0) == 0);
  // The ticket still opens its one stream.
  auto s = open_stream(f, path + "?ticket=" + ticket);
  REQUIRE(s.read_until("event: ready"));
}

TEST_CASE("stream tickets: a ticket issued before this process started is refused (no replay after a restart)",
          "[events]") {
  auto clock = std::make_shared<chat::ManualClock>(chat::from_millis(1'767'225'600'000));
  chatd::StreamTickets before(kSecret, clock);
  const auto who = chat::Principal::user("5");
  auto t = before.issue(who, "/p");
  REQUIRE(t.ok());
  REQUIRE(before.redeem(*t, "/p").ok());
  clock->advance(std::chrono::seconds(5));  // a restart: a new process, an empty used set
  chatd::StreamTickets after(kSecret, clock);
  auto replayed = after.redeem(*t, "/p");
  REQUIRE_FALSE(replayed.ok());
  CHECK(replayed.error().code == chat::ErrorCode::kUnauthenticated);
  CHECK(replayed.error().message.find("before this server started") != std::string::npos);
  auto fresh = after.issue(who, "/p");
  REQUIRE(fresh.ok());
  CHECK(after.check(*fresh, "/p").ok());   // HEAD: checked, not used
  CHECK(after.redeem(*fresh, "/p").ok());
  CHECK_FALSE(after.check(*fresh, "/p").ok());
}
