// Event streams end to end (issue 14): the real ChatService over an
// in-memory store (live_server.hpp), a raw SSE client; each event type
// reaches a stream on each API in that API's JSON; resume with Last-Event-ID
// replays what was missed, then goes live; tickets open a token API's stream.
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chatd/live_server.hpp"
#include "chatd/raw_http.hpp"

using chatd_test::LiveServer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Frame {
  std::optional<std::int64_t> id;
  std::string event;
  json data;
};

// A raw SSE client: the head, then chunked frames parsed as they arrive.
class SseClient {
 public:
  SseClient(int port, const std::string& path, const std::string& headers = {})
      : conn_(std::make_unique<chatd_test::RawConnection>(port)) {
    REQUIRE(conn_->send("GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" + headers + "\r\n"));
  }

  // Waits until some frame satisfies `pred`; false on timeout or end.
  bool wait_for(const std::function<bool(const Frame&)>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (; checked_ < frames.size(); ++checked_) {
        if (pred(frames[checked_])) {
          ++checked_;
          return true;
        }
      }
      if (ended) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{conn_->fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(conn_->fd(), buf, sizeof buf, 0);
      if (n <= 0) {
        ended = true;
        continue;
      }
      raw_.append(buf, static_cast<std::size_t>(n));
      parse();
    }
  }
  bool wait_event(const std::string& type, std::chrono::milliseconds timeout = 10s) {
    return wait_for([&](const Frame& f) { return f.event == type; }, timeout);
  }
  const Frame& last() const { return frames[checked_ - 1]; }
  bool wait_end(std::chrono::milliseconds timeout = 10s) {
    wait_for([](const Frame&) { return false; }, timeout);
    return ended;
  }

  int status = 0;
  std::string head;
  std::vector<Frame> frames;
  bool ended = false;

 private:
  void parse() {
    if (status == 0) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head = raw_.substr(0, end);
      status = std::atoi(head.c_str() + 9);
      raw_.erase(0, end + 4);
    }
    for (;;) {  // chunks
      const auto eol = raw_.find("\r\n");
      if (eol == std::string::npos) break;
      const std::size_t size = std::strtoul(raw_.c_str(), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2) break;
      body_.append(raw_, eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
      if (size == 0) ended = true;
    }
    for (;;) {  // frames
      const auto end = body_.find("\n\n");
      if (end == std::string::npos) break;
      const std::string text = body_.substr(0, end);
      body_.erase(0, end + 2);
      Frame f;
      std::size_t pos = 0;
      bool any = false;
      while (pos <= text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.rfind("id: ", 0) == 0) f.id = std::stoll(line.substr(4));
        if (line.rfind("event: ", 0) == 0) f.event = line.substr(7), any = true;
        if (line.rfind("data: ", 0) == 0) f.data = json::parse(line.substr(6), nullptr, false);
      }
      if (any) frames.push_back(std::move(f));
    }
  }

  std::unique_ptr<chatd_test::RawConnection> conn_;
  std::string raw_;
  std::string body_;
  std::size_t checked_ = 0;
};

std::string bearer_header(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

}  // namespace

TEST_CASE("event streams, seed 003: every event type of a conversation, in the seed's JSON", "[events][live]") {
  LiveServer s;
  const auto alice = s.token("1");
  auto created = s.post("/chat/conversations", {{"title", "Chat"}}, alice);
  REQUIRE(created.status == 201);
  const auto id = created.json["data"]["conversation_id"].get<std::int64_t>();
  const std::string path = "/chat/conversations/" + std::to_string(id);

  SseClient c(s.port(), path + "/events", bearer_header(alice));
  REQUIRE(c.wait_event("ready"));
  CHECK(c.status == 200);

  auto posted = s.post(path + "/messages", {{"content", "hello"}}, alice);
  REQUIRE(posted.status == 201);
  REQUIRE(c.wait_event("message.created"));
  CHECK(c.last().id.has_value());
  CHECK(c.last().data["content"] == "hello");
  CHECK(c.last().data["sender"] == "user");
  CHECK(c.last().data["conversation_id"] == id);

  REQUIRE(s.put(path, {{"title", "Renamed"}}, alice).status == 200);
  REQUIRE(c.wait_event("conversation.updated"));
  CHECK(c.last().data["title"] == "Renamed");

  REQUIRE(s.post(path + "/read", json::object(), alice).status == 200);
  REQUIRE(c.wait_event("conversation.read"));
  CHECK(c.last().data["unread_count"] == 0);

  REQUIRE(s.post(path + "/events/typing", {{"active", true}}, alice).status == 204);
  REQUIRE(c.wait_event("typing"));
  CHECK_FALSE(c.last().id.has_value());
  CHECK(c.last().data == json({{"user_id", "1"}, {"role", "user"}, {"active", true}}));

  REQUIRE(s.del(path, alice).status == 200);
  REQUIRE(c.wait_event("conversation.deleted"));
  CHECK(c.wait_end());  // the stream ends after the delete
}

TEST_CASE("event streams, seed 002 and 001: anonymous streams by capability", "[events][live]") {
  LiveServer s;
  auto first = s.post("/api/messages/", {{"content", "hi"}});
  REQUIRE(first.status == 200);
  const std::string uuid = first.json["items"][0]["conversation"];
  SseClient c(s.port(), "/api/messages/" + uuid + "/events");
  REQUIRE(c.wait_event("ready"));
  REQUIRE(s.post("/api/messages/", {{"conversation", uuid}, {"content", "again"}}).status == 200);
  REQUIRE(c.wait_event("message.created"));
  CHECK(c.last().data["conversation"] == uuid);
  CHECK(c.last().data["content"] == "again");
  CHECK(c.last().data["author"] == "CUS");
  CHECK(c.last().data.contains("date"));
  // Typing on a capability API: the agent's role, never its account id.
  const auto agent = s.token("50", chat::PrincipalRole::kAgent);
  REQUIRE(s.post("/api/messages/" + uuid + "/events/typing", {{"active", true}}, agent).status == 204);
  REQUIRE(c.wait_event("typing"));
  CHECK(c.last().data == json({{"user_id", nullptr}, {"role", "agent"}, {"active", true}}));

  auto session = s.post("/api/chats/sessions/", {{"session_id", "tab-test"}});
  REQUIRE(session.status == 201);
  SseClient tab(s.port(), "/api/chats/sessions/tab-test/events");
  REQUIRE(tab.wait_event("ready"));
  auto m = s.post("/api/chats/messages/", {{"session_id", "tab-test"}, {"message", "from tab 1"}, {"role", "user"}});
  REQUIRE(m.status == 201);
  REQUIRE(tab.wait_event("message.created"));
  CHECK(tab.last().data["message"] == "from tab 1");
  CHECK(tab.last().data["session"]["session_id"] == "tab-test");
  REQUIRE(s.post("/api/chats/sessions/tab-test/events/typing", {{"active", false}}, s.token("50", chat::PrincipalRole::kAgent)).status == 204);
  REQUIRE(tab.wait_event("typing"));
  CHECK(tab.last().data == json({{"user_id", nullptr}, {"role", "agent"}, {"active", false}}));
  REQUIRE(s.del("/api/chats/messages/" + m.json["id"].get<std::string>() + "/").status == 204);
  REQUIRE(tab.wait_event("message.deleted"));
  CHECK(tab.last().data["message"] == "");  // redacted
}

TEST_CASE("event streams, seed 000: a ticket opens the stream, then edits and a clear arrive", "[events][live]") {
  LiveServer s;
  const auto alice = s.token("1");
  REQUIRE(s.post("/api/jobs/", {{"id", "job-1"}, {"title", "Quote me"}}, alice).status == 201);
  const std::string chat = "/api/jobs/job-1/quote-chat/";
  REQUIRE(s.post(chat, {{"message_id", "m1"}, {"role", "user"}, {"content", "price?"}}, alice).status == 201);

  auto ticket = s.post(chat + "events/ticket", json::object(), alice);
  REQUIRE(ticket.status == 200);
  SseClient c(s.port(), chat + "events?ticket=" + ticket.json["ticket"].get<std::string>());
  REQUIRE(c.wait_event("ready"));

  REQUIRE(s.post(chat, {{"message_id", "m2"}, {"role", "assistant"}, {"content", "Quote: "}}, alice).status == 201);
  REQUIRE(c.wait_event("message.created"));
  CHECK(c.last().data["message_id"] == "m2");
  REQUIRE(s.patch(chat + "m2/", {{"content", "Quote: $400"}}, alice).status == 200);
  REQUIRE(c.wait_event("message.updated"));
  CHECK(c.last().data["content"] == "Quote: $400");
  CHECK(c.last().data.contains("updated_at"));
  REQUIRE(s.del(chat, alice).status == 200);
  REQUIRE(c.wait_event("conversation.cleared"));
  CHECK(c.last().data["job_id"] == "job-1");
}

TEST_CASE("event streams, seed 004: the coach session's messages", "[events][live]") {
  LiveServer s;
  const auto alice = s.token("1");
  chat::Subject job;
  job.id = "7";
  job.title = "Job 7";
  job.description = "C++";
  REQUIRE(s.service->put_subject(chat::Principal::user("1"), job).ok());
  auto start = s.post("/api/chat/start", {{"job_id", 7}, {"question", "How?"}}, alice);
  REQUIRE(start.status == 200);
  const std::string sid = start.json["session_id"];
  SseClient c(s.port(), "/api/chat/" + sid + "/events", bearer_header(alice));
  REQUIRE(c.wait_event("ready"));
  REQUIRE(s.post("/api/chat/" + sid + "/message", {{"message", "And then?"}}, alice).status == 200);
  REQUIRE(c.wait_for([](const Frame& f) { return f.event == "message.created" && f.data["role"] == "user"; }));
  CHECK(c.last().data["content"] == "And then?");
  REQUIRE(c.wait_for([](const Frame& f) { return f.event == "message.created" && f.data["role"] == "assistant"; }));
  // Another user's session is not found.
  auto other = s.get("/api/chat/" + sid + "/events", s.token("2"));
  CHECK(other.status == 404);
}

TEST_CASE("event streams: resume with Last-Event-ID replays what was missed, then goes live", "[events][live]") {
  LiveServer s;
  const auto alice = s.token("1");
  auto created = s.post("/chat/conversations", {{"title", "Chat"}}, alice);
  REQUIRE(created.status == 201);
  const std::string path = "/chat/conversations/" + std::to_string(created.json["data"]["conversation_id"].get<std::int64_t>());

  std::int64_t seen = 0;
  {
    SseClient c(s.port(), path + "/events", bearer_header(alice));
    REQUIRE(c.wait_event("ready"));
    REQUIRE(s.post(path + "/messages", {{"content", "one"}}, alice).status == 201);
    REQUIRE(c.wait_event("message.created"));
    seen = *c.last().id;
  }  // the client goes away
  REQUIRE(s.post(path + "/messages", {{"content", "two"}}, alice).status == 201);
  REQUIRE(s.put(path, {{"title", "T2"}}, alice).status == 200);

  for (const bool by_query : {false, true}) {
    INFO(by_query);
    SseClient c(s.port(), path + "/events" + (by_query ? "?last_event_id=" + std::to_string(seen) : ""),
                bearer_header(alice) + (by_query ? "" : "Last-Event-ID: " + std::to_string(seen) + "\r\n"));
    REQUIRE(c.wait_event("ready"));
    CHECK(*c.last().id == seen);
    REQUIRE(c.wait_event("message.created"));
    CHECK(c.last().data["content"] == "two");  // not "one": nothing twice
    REQUIRE(c.wait_event("conversation.updated"));
    CHECK(c.last().data["title"] == "T2");
    // Then live.
    const std::string live = by_query ? "four" : "three";  // the second run replays "three" first
    REQUIRE(s.post(path + "/messages", {{"content", live}}, alice).status == 201);
    REQUIRE(c.wait_for([&](const Frame& f) { return f.event == "message.created" && f.data["content"] == live; }));
    // Every id after the cursor is strictly increasing.
    std::int64_t prev = seen;
    for (const auto& f : c.frames) {
      if (!f.id || f.event == "ready") continue;
      CHECK(*f.id > prev);
      prev = *f.id;
    }
  }
}
