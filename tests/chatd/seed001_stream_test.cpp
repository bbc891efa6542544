// Seed 001 SSE chat (/api/chats/messages/chat/stream/): exact framing read
// incrementally, a client leaving early, and the capacity bound (streams held
// open while the API stays responsive; one more than --max-streams is 429).
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "chatd/live_server.hpp"
#include "chatd/wait.hpp"
#include "config.hpp"

using nlohmann::json;
using chatd_test::LiveServer;
using chatd_test::LiveOptions;
using namespace std::chrono_literals;

namespace {

// Streams "first", then blocks until released, then streams `tail` more
// chunks (a few ms apart) unless the consumer cancels.
class GatedProvider final : public chat::LlmProvider {
 public:
  int tail = 1;
  std::string_view name() const override { return "gated"; }
  chat::Result<chat::Completion> complete(const chat::CompletionRequest&) override {
    chat::Completion c;
    c.content = "whole";
    return c;
  }
  chat::Result<chat::Completion> stream(const chat::CompletionRequest&, const chat::ChunkCallback& on_chunk) override {
    chat::Completion c;
    c.finish_reason = "stop";
    if (!on_chunk("first")) return cancelled(c);
    c.content += "first";
    {
      std::lock_guard lock(mu_);
      ++started_;
    }
    cv_.notify_all();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return released_; });
    }
    for (int i = 0; i < tail; ++i) {
      if (i > 0) std::this_thread::sleep_for(5ms);
      if (!on_chunk(" more")) return cancelled(c);
      c.content += " more";
    }
    return c;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  int started() const { return started_.load(); }
  // True when `n` streams have reached the gate before `timeout` ran out.
  bool wait_started(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return started_.load() >= n; });
  }

 private:
  static chat::Completion cancelled(chat::Completion c) {
    c.finish_reason = "cancelled";
    return c;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::atomic<int> started_{0};
};

// Streams two chunks, then fails as a model server dropping the connection would.
class BreakingProvider final : public chat::LlmProvider {
 public:
  std::string_view name() const override { return "breaking"; }
  chat::Result<chat::Completion> complete(const chat::CompletionRequest&) override {
    return chat::Error{chat::ErrorCode::kUpstream, "model broke", {}};
  }
  chat::Result<chat::Completion> stream(const chat::CompletionRequest&, const chat::ChunkCallback& on_chunk) override {
    if (on_chunk("half")) (void)on_chunk(" an answer");
    return chat::Error{chat::ErrorCode::kUpstream, "model broke", {}};
  }
};

struct StreamRead {
  int status = 0;
  std::string body;
  std::vector<std::size_t> piece_sizes;  // what the client received, piece by piece
  std::string content_type;
  std::string cache_control;
};

// POSTs to the stream route and reads the body as it arrives. `on_piece`
// returning false closes the connection early.
StreamRead read_stream(const LiveServer& s, const json& body,
                       const std::function<bool(const std::string& so_far)>& on_piece = nullptr) {
  auto cli = s.client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/api/chats/messages/chat/stream/";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  StreamRead out;
  req.response_handler = [&](const httplib::Response& r) {
    out.status = r.status;
    out.content_type = r.get_header_value("Content-Type");
    out.cache_control = r.get_header_value("Cache-Control");
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    out.body.append(data, n);
    out.piece_sizes.push_back(n);
    return on_piece ? on_piece(out.body) : true;
  };
  auto r = cli.send(req);
  if (r && out.status == 0) out.status = r->status;
  if (r && out.body.empty()) out.body = r->body;
  return out;
}

std::vector<json> events_of(const std::string& body) {
  std::vector<json> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    REQUIRE(body.compare(pos, 6, "data: ") == 0);
    auto end = body.find("\n\n", pos);
    REQUIRE(end != std::string::npos);
    out.push_back(json::parse(body.substr(pos + 6, end - pos - 6)));
    pos = end + 2;
  }
  return out;
}

chat::Page<chat::Message> messages_of(const LiveServer& s, const std::string& session) {
  auto page = s.service->list_messages(chat::Principal::anonymous(), chat::ConversationKey::of_handle(session), {});
  REQUIRE(page.ok());
  return *page;
}

}  // namespace

TEST_CASE("seed001 stream: exact SSE framing, read incrementally, the stored reply equals the chunks",
          "[http][seed001]") {
  LiveOptions o;
  o.llm = std::shared_ptr<chat::LlmProvider>(chat::make_echo_provider(chat::EchoOptions{20ms}));
  LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "sse"}}).status == 201);

  auto r = read_stream(s, {{"session_id", "sse"}, {"message", "tell me a story"}});
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/event-stream");
  CHECK(r.cache_control == "no-cache");
  // Chunks arrive as produced (the provider pauses 20 ms before each), not as one buffered body.
  CHECK(r.piece_sizes.size() >= 4);

  auto page = messages_of(s, "sse");
  REQUIRE(page.items.size() == 2);
  const auto& user = page.items[0];
  const auto& assistant = page.items[1];
  CHECK(user.content == "tell me a story");
  CHECK(assistant.content == "Echo: tell me a story");
  CHECK(assistant.status == chat::MessageStatus::kComplete);
  const std::string expected =
      "data: {\"chunk\": \"Echo:\", \"done\": false, \"message_id\": \"" + user.uuid + "\"}\n\n" +
      "data: {\"chunk\": \" tell\", \"done\": false, \"message_id\": \"" + user.uuid + "\"}\n\n" +
      "data: {\"chunk\": \" me\", \"done\": false, \"message_id\": \"" + user.uuid + "\"}\n\n" +
      "data: {\"chunk\": \" a\", \"done\": false, \"message_id\": \"" + user.uuid + "\"}\n\n" +
      "data: {\"chunk\": \" story\", \"done\": false, \"message_id\": \"" + user.uuid + "\"}\n\n" +
      "data: {\"chunk\": \"\", \"done\": true, \"message_id\": \"" + user.uuid + "\", \"response_id\": \"" +
      assistant.uuid + "\"}\n\n";
  CHECK(r.body == expected);
  std::string joined;
  for (const auto& e : events_of(r.body)) joined += e["chunk"].get<std::string>();
  CHECK(joined == assistant.content);
}

TEST_CASE("seed001 stream: errors before the stream are plain JSON", "[http][seed001]") {
  LiveServer s;
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "ok"}}).status == 201);
  auto missing = s.post("/api/chats/messages/chat/stream/", {{"session_id", "ok"}});
  CHECK(missing.status == 400);
  CHECK(missing.json["error"]["field"] == "message");
  auto no_session = s.post("/api/chats/messages/chat/stream", {{"message", "x"}});
  CHECK(no_session.status == 400);
  CHECK(no_session.json["error"]["field"] == "session_id");
  auto unknown = s.post("/api/chats/messages/chat/stream/", {{"session_id", "nope"}, {"message", "x"}});
  CHECK(unknown.status == 404);
  CHECK(unknown.headers.find("Content-Type")->second.find("application/json") == 0);
  CHECK(s.send("POST", "/api/chats/messages/chat/stream/", "{").status == 400);
  CHECK(s.get("/api/chats/messages/chat/stream/").status == 405);
  CHECK(messages_of(s, "ok").items.empty());
  CHECK(s.server->context().streams.open() == 0);
}

TEST_CASE("seed001 stream: a client leaving early stores the reply as failed", "[http][seed001]") {
  auto gated = std::make_shared<GatedProvider>();
  gated->tail = 200;
  LiveOptions o;
  o.llm = gated;
  LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "bye"}}).status == 201);

  auto r = read_stream(s, {{"session_id", "bye"}, {"message", "hello"}},
                       [](const std::string& so_far) { return so_far.find("first") == std::string::npos; });
  CHECK(r.status == 200);
  CHECK(r.body.find("\"chunk\": \"first\"") != std::string::npos);
  gated->release();  // the provider goes on writing into a closed connection

  // The reply is stored by the provider's thread after the client left: poll the store.
  chat::Page<chat::Message> page;
  chatd_test::eventually([&] {
    page = messages_of(s, "bye");
    return page.items.size() == 2;
  });
  REQUIRE(page.items.size() == 2);
  const auto& assistant = page.items[1];
  CHECK(assistant.role == chat::Role::kAssistant);
  CHECK(assistant.status == chat::MessageStatus::kFailed);
  CHECK(assistant.content.rfind("first", 0) == 0);
  CHECK(assistant.content.size() < std::string("first").size() + 200 * 5);
  chatd_test::eventually([&] { return s.server->context().streams.open() == 0; }, 2s);
  CHECK(s.server->context().streams.open() == 0);
}

TEST_CASE("seed001 stream: max-streams open streams, the API stays prompt, one more is 429", "[http][seed001]") {
  constexpr int kStreams = 64;
  auto gated = std::make_shared<GatedProvider>();
  LiveOptions o;
  o.threads = 128;
  o.max_streams = kStreams;
  o.llm = gated;
  LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "many"}}).status == 201);

  std::vector<std::thread> clients;
  std::vector<StreamRead> reads(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] { reads[i] = read_stream(s, {{"session_id", "many"}, {"message", "hi"}}); });
  }
  gated->wait_started(kStreams, 10s);
  REQUIRE(gated->started() == kStreams);
  CHECK(s.server->context().streams.open() == kStreams);

  // Ordinary requests answer promptly while every stream slot is taken.
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(s.get("/healthz").status == 200);
    CHECK(s.get("/api/chats/sessions/many/").status == 200);
    CHECK(s.post("/api/chats/messages/", {{"session_id", "many"}, {"message", "meanwhile"}}).status == 201);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }

  // One stream more: 429 JSON with Retry-After, and nothing stored for it.
  auto refused = s.post("/api/chats/messages/chat/stream/", {{"session_id", "many"}, {"message", "one more"}});
  CHECK(refused.status == 429);
  CHECK(refused.json["error"]["code"] == "resource_exhausted");
  CHECK(refused.headers.count("Retry-After") == 1);

  gated->release();
  for (auto& t : clients) t.join();
  for (const auto& r : reads) {
    CHECK(r.status == 200);
    auto events = events_of(r.body);
    REQUIRE(events.size() == 3);
    CHECK(events[2]["done"] == true);
  }
  auto page = messages_of(s, "many");
  CHECK(page.total == kStreams * 2 + 5);
  for (const auto& m : page.items) {
    if (m.role == chat::Role::kAssistant) CHECK(m.content == "first more");
  }
  // A slot returns when httplib drops the response, just after the last byte.
  chatd_test::eventually([&] { return s.server->context().streams.open() == 0; }, 2s);
  CHECK(s.server->context().streams.open() == 0);
}

TEST_CASE("seed001 stream: a model failing mid-stream ends with an error event and a failed message",
          "[http][seed001]") {
  LiveOptions o;
  o.llm = std::make_shared<BreakingProvider>();
  LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "oops"}}).status == 201);
  auto r = read_stream(s, {{"session_id", "oops"}, {"message", "hi"}});
  REQUIRE(r.status == 200);
  auto events = events_of(r.body);
  REQUIRE(events.size() == 3);
  CHECK(events[0]["chunk"] == "half");
  CHECK(events[1]["chunk"] == " an answer");
  CHECK(events[2]["done"] == true);
  CHECK(events[2]["error"]["code"] == "upstream_error");
  CHECK(events[2]["message_id"] == events[0]["message_id"]);
  auto page = messages_of(s, "oops");
  REQUIRE(page.items.size() == 2);
  CHECK(page.items[1].status == chat::MessageStatus::kFailed);
  CHECK(page.items[1].content == "half an answer");
  // The non-streaming chat maps the same failure to a plain 502.
  auto plain = s.post("/api/chats/messages/chat/", {{"session_id", "oops"}, {"message", "again"}});
  CHECK(plain.status == 502);
}

TEST_CASE("seed001: --llm-echo-delay-ms slows the echo provider's stream (demos, bench/sse_hold.py)", "[config][seed001]") {
  auto r = chatd::parse_command_line({"--llm-echo-delay-ms", "250"}, {});
  REQUIRE(r.ok());
  CHECK(r->config.llm_echo_delay == 250ms);
  auto env = chatd::parse_command_line({}, {{"CHATD_LLM_ECHO_DELAY_MS", "7"}});
  REQUIRE(env.ok());
  CHECK(env->config.llm_echo_delay == 7ms);
  CHECK(chatd::parse_command_line({}, {})->config.llm_echo_delay == 0ms);
  CHECK_FALSE(chatd::parse_command_line({"--llm-echo-delay-ms", "-1"}, {}).ok());
  CHECK_FALSE(chatd::parse_command_line({"--llm-echo-delay-ms", "60001"}, {}).ok());
  CHECK_FALSE(chatd::parse_command_line({"--llm-echo-delay-ms", "fast"}, {}).ok());
}
