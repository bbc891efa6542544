// The OpenAI-compatible provider against a fake server replaying real wire formats.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "chat/openai_provider.hpp"
#include "llm/fake_openai.hpp"
#include "service/service_fixture.hpp"
#include "llm/sse_parser.hpp"

using namespace std::chrono_literals;

namespace {

chat::OpenAiOptions options_for(const test_llm::FakeOpenAi& fake) {
  chat::OpenAiOptions o;
  o.base_url = fake.base_url();
  o.model = "test-model";
  o.connect_timeout = 2000ms;
  o.read_timeout = 2000ms;
  o.max_retries = 2;
  o.retry_backoff = 10ms;
  o.max_retry_after = 50ms;
  return o;
}

std::unique_ptr<chat::LlmProvider> provider(chat::OpenAiOptions o) {
  auto p = chat::make_openai_provider(std::move(o));
  REQUIRE(p.ok());
  return std::move(*p);
}

chat::CompletionRequest hello() {
  chat::CompletionRequest r;
  r.messages = {{chat::Role::kSystem, "Be brief."}, {chat::Role::kUser, "Hi"}, {chat::Role::kAgent, "Hello"},
                {chat::Role::kUser, "Again"}};
  return r;
}

// "<prefix><i> ", appended piecewise (GCC 12 warns falsely on literal + std::string).
std::string numbered(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  s += ' ';
  return s;
}

struct Collected {
  std::vector<std::string> chunks;
  std::string all() const {
    std::string s;
    for (const auto& c : chunks) s += c;
    return s;
  }
};

chat::ChunkCallback collect(Collected& c, int stop_after = -1) {
  return [&c, stop_after](std::string_view chunk) {
    c.chunks.emplace_back(chunk);
    return stop_after < 0 || static_cast<int>(c.chunks.size()) < stop_after;
  };
}

}  // namespace

TEST_CASE("openai: base URL with or without /v1, request body, key header", "[llm][openai]") {
  for (std::string suffix : {"", "/", "/v1", "/v1/"}) {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::json_reply(200, test_llm::completion_json("Hi there")));
    auto o = options_for(fake);
    o.base_url += suffix;
    o.api_key = "sk-secret-123";
    o.temperature = 0.5;
    auto p = provider(o);
    auto r = p->complete(hello());
    REQUIRE(r.ok());
    CHECK(r->content == "Hi there");
    CHECK(r->finish_reason == "stop");
    CHECK(r->usage_reported);
    CHECK(r->prompt_tokens == 21);
    CHECK(r->completion_tokens == 7);
    CHECK(r->model == "gpt-4o-mini-2024-07-18");
    CHECK(fake.path(0) == "/v1/chat/completions");
    auto body = fake.body(0);
    CHECK(body["model"] == "test-model");
    CHECK(body["stream"] == false);
    CHECK(body["temperature"] == 0.5);
    CHECK_FALSE(body.contains("max_tokens"));
    REQUIRE(body["messages"].size() == 4);
    CHECK(body["messages"][0] == nlohmann::json({{"role", "system"}, {"content", "Be brief."}}));
    CHECK(body["messages"][2]["role"] == "assistant");  // kAgent
    auto h = fake.headers(0);
    CHECK(h.find("Authorization")->second == "Bearer sk-secret-123");
  }
}

TEST_CASE("openai: a base URL with a path prefix keeps it", "[llm][openai]") {
  test_llm::FakeOpenAi fake;
  fake.then(test_llm::json_reply(200, test_llm::completion_json("ok")));
  auto o = options_for(fake);
  o.base_url += "/proxy/openai/v1";
  auto r = provider(o)->complete(hello());
  REQUIRE(r.ok());
  CHECK(fake.path(0) == "/proxy/openai/v1/chat/completions");
}

TEST_CASE("openai: factory validates its options", "[llm][openai]") {
  chat::OpenAiOptions o;
  o.model = "m";
  o.base_url = "ftp://x";
  CHECK(chat::make_openai_provider(o).error().field == "base_url");
  o.base_url = "http://";
  CHECK(chat::make_openai_provider(o).error().field == "base_url");
  o.base_url = "http://127.0.0.1:1";
  o.model.clear();
  CHECK(chat::make_openai_provider(o).error().field == "model");
  o.model = "m";
  o.max_retries = -1;
  CHECK_FALSE(chat::make_openai_provider(o).ok());
  o.max_retries = 0;
  CHECK(chat::make_openai_provider(o).ok());
}

TEST_CASE("openai: non-streaming without usage, and null content", "[llm][openai]") {
  test_llm::FakeOpenAi fake;
  fake.then(test_llm::json_reply(200, test_llm::completion_json("short", false, "length")));
  fake.then(test_llm::json_reply(
      200, R"({"choices":[{"index":0,"message":{"role":"assistant","content":null},"finish_reason":"stop"}]})"));
  auto p = provider(options_for(fake));
  auto r = p->complete(hello());
  REQUIRE(r.ok());
  CHECK_FALSE(r->usage_reported);
  CHECK(r->finish_reason == "length");
  auto r2 = p->complete(hello());
  REQUIRE(r2.ok());
  CHECK(r2->content.empty());
  CHECK(r2->model == "test-model");
}

TEST_CASE("openai: OpenAI-style stream with role delta, finish chunk, usage chunk", "[llm][openai]") {
  test_llm::FakeOpenAi fake;
  fake.then(test_llm::sse(test_llm::openai_stream({"Hel", "lo", " wörld"}, true)));
  auto p = provider(options_for(fake));
  Collected c;
  auto r = p->stream(hello(), collect(c));
  REQUIRE(r.ok());
  CHECK(c.chunks == std::vector<std::string>{"Hel", "lo", " wörld"});  // the empty role delta is not a chunk
  CHECK(r->content == "Hello wörld");
  CHECK(r->finish_reason == "stop");
  CHECK(r->usage_reported);
  CHECK(r->prompt_tokens == 12);
  CHECK(r->completion_tokens == 3);
  auto body = fake.body(0);
  CHECK(body["stream"] == true);
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK(fake.headers(0).count("Authorization") == 0);  // no key configured
}

TEST_CASE("openai: Ollama / llama.cpp style streams (no usage, data: without space, CRLF, pings)",
          "[llm][openai]") {
  SECTION("no usage chunk, LF") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::sse(test_llm::openai_stream({"a", "b"}, false)));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    REQUIRE(r.ok());
    CHECK(r->content == "ab");
    CHECK_FALSE(r->usage_reported);
  }
  SECTION("CRLF, no space after data:, keep-alive comments, event/id fields") {
    std::vector<std::string> pieces = {
        ": ping\r\n\r\n",
        "event: message\r\nid: 1\r\n",
        R"(data:{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]})"
        "\r\n\r\n",
        ": ping\r\n\r\n",
        R"(data:{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]})"
        "\r\n\r\n",
        R"(data:{"choices":[{"index":0,"delta":{"content":"y"},"finish_reason":"stop"}]})"
        "\r\n\r\n",
        "data:[DONE]\r\n\r\n"};
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::sse(pieces));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    REQUIRE(r.ok());
    CHECK(r->content == "xy");
    CHECK(r->finish_reason == "stop");
  }
  SECTION("a finish_reason without [DONE], body ends cleanly") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::sse({R"(data: {"choices":[{"delta":{"content":"z"},"finish_reason":"stop"}]})"}));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    REQUIRE(r.ok());  // the last event had no blank line: dispatched at the end of the body
    CHECK(r->content == "z");
  }
}

TEST_CASE("openai: chunks split at awkward byte boundaries", "[llm][openai]") {
  const auto whole = test_llm::openai_stream({"Grüße, ", "日本語", " 🎉!"}, true, "\r\n");
  for (std::size_t n : {1u, 2u, 3u, 5u, 7u, 13u}) {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::sse(test_llm::recut(whole, n)));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    INFO("piece size " << n);
    REQUIRE(r.ok());
    CHECK(r->content == "Grüße, 日本語 🎉!");
    CHECK(c.chunks.size() == 3);
    CHECK(r->usage_reported);
  }
}

TEST_CASE("sse parser: pieces of any size give the same events", "[llm][openai]") {
  const std::string text = ": c\n\ndata: a\ndata:b\r\n\r\nfoo: bar\ndata:  two spaces\n\n";
  for (std::size_t n = 1; n <= text.size(); ++n) {
    chat::detail::SseParser p;
    std::vector<std::string> events;
    auto on = [&](std::string_view d) {
      events.emplace_back(d);
      return true;
    };
    for (std::size_t i = 0; i < text.size(); i += n) REQUIRE(p.feed(std::string_view(text).substr(i, n), on));
    REQUIRE(p.finish(on));
    CHECK(events == std::vector<std::string>{"a\nb", " two spaces"});
  }
}

TEST_CASE("openai: a server that ignores stream:true answers one chunk", "[llm][openai]") {
  test_llm::FakeOpenAi fake;
  fake.then(test_llm::json_reply(200, test_llm::completion_json("all at once")));
  Collected c;
  auto r = provider(options_for(fake))->stream(hello(), collect(c));
  REQUIRE(r.ok());
  CHECK(c.chunks == std::vector<std::string>{"all at once"});
  CHECK(r->content == "all at once");
  CHECK(r->usage_reported);
}

TEST_CASE("openai: cancellation mid-stream closes the connection", "[llm][openai]") {
  test_llm::FakeOpenAi fake;
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(numbered("w", i));
  test_llm::StreamOptions so;
  so.delay = 5ms;
  so.state = std::make_shared<test_llm::StreamState>();
  fake.then(test_llm::sse(test_llm::openai_stream(texts, true), so));
  Collected c;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = provider(options_for(fake))->stream(hello(), collect(c, 2));
  REQUIRE(r.ok());
  CHECK(r->finish_reason == "cancelled");
  CHECK(c.chunks.size() == 2);
  CHECK(r->content == "w0 ");  // the chunk refused is not part of the content
  CHECK(std::chrono::steady_clock::now() - t0 < 800ms);  // 200 chunks would take > 1 s
  // The server notices: its next writes fail.
  for (int i = 0; i < 200 && !so.state->client_gone; ++i) std::this_thread::sleep_for(10ms);
  CHECK(so.state->client_gone);
  CHECK(so.state->pieces_written < 50);
  CHECK(fake.hits() == 1);
}

TEST_CASE("openai: HTTP errors map to domain codes with the server's message", "[llm][openai]") {
  SECTION("401 -> upstream, message included, key scrubbed, no retry") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::status(
        401, R"({"error":{"message":"Incorrect API key provided: sk-secret-123.","type":"invalid_request_error"}})"));
    auto o = options_for(fake);
    o.api_key = "sk-secret-123";
    auto r = provider(o)->complete(hello());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(r.error().message.find("401") != std::string::npos);
    CHECK(r.error().message.find("Incorrect API key provided") != std::string::npos);
    CHECK(r.error().message.find("sk-secret-123") == std::string::npos);
    CHECK(fake.hits() == 1);
  }
  SECTION("429 with Retry-After is retried, then succeeds") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::status(429, R"({"error":{"message":"Rate limit reached"}})", {{"Retry-After", "1"}}));
    fake.then(test_llm::json_reply(200, test_llm::completion_json("after wait")));
    auto r = provider(options_for(fake))->complete(hello());
    REQUIRE(r.ok());
    CHECK(r->content == "after wait");
    CHECK(fake.hits() == 2);
  }
  SECTION("429 forever -> unavailable after 1 + max_retries attempts") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::status(429, R"({"error":{"message":"Rate limit reached"}})", {{"Retry-After", "30"}}));
    const auto t0 = std::chrono::steady_clock::now();
    auto r = provider(options_for(fake))->complete(hello());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUnavailable);
    CHECK(r.error().message.find("Rate limit reached") != std::string::npos);
    CHECK(fake.hits() == 3);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);  // Retry-After capped by max_retry_after
  }
  SECTION("500 -> upstream after retries; 503 -> unavailable") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::status(500, R"({"error":{"message":"boom"}})"));
    auto r = provider(options_for(fake))->stream(hello(), [](std::string_view) { return true; });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(r.error().message.find("boom") != std::string::npos);
    CHECK(fake.hits() == 3);
    test_llm::FakeOpenAi fake2;
    fake2.then(test_llm::status(503, "Service Unavailable"));
    auto o = options_for(fake2);
    o.max_retries = 0;
    auto r2 = provider(o)->complete(hello());
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().code == chat::ErrorCode::kUnavailable);
    CHECK(fake2.hits() == 1);
  }
  SECTION("llama.cpp style {\"error\": \"...\"} string and 404 model not found") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::status(404, R"({"error":"model 'nope' not found"})"));
    auto r = provider(options_for(fake))->complete(hello());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(r.error().message.find("model 'nope' not found") != std::string::npos);
    CHECK(fake.hits() == 1);  // 4xx other than 429: no retry
  }
}

TEST_CASE("openai: malformed bodies are upstream errors", "[llm][openai]") {
  SECTION("non-streaming garbage") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::json_reply(200, "{not json"));
    auto r = provider(options_for(fake))->complete(hello());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(fake.hits() == 1);
  }
  SECTION("JSON that is not a completion") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::json_reply(200, R"({"choices":[]})"));
    auto r = provider(options_for(fake))->complete(hello());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
  }
  SECTION("a stream event that is not JSON") {
    test_llm::FakeOpenAi fake;
    auto pieces = test_llm::openai_stream({"a"}, false);
    pieces.insert(pieces.begin() + 2, "data: {oops\n\n");
    fake.then(test_llm::sse(pieces));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(c.all() == "a");
  }
  SECTION("an error event mid-stream") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::sse({"data: {\"error\":{\"message\":\"overloaded\"}}\n\n"}));
    auto r = provider(options_for(fake))->stream(hello(), [](std::string_view) { return true; });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(r.error().message.find("overloaded") != std::string::npos);
  }
  SECTION("200 text/event-stream without any event") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::sse({": just a comment\n\n"}));
    auto r = provider(options_for(fake))->stream(hello(), [](std::string_view) { return true; });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
  }
}

TEST_CASE("openai: timeouts, refusals and a server closing mid-stream", "[llm][openai]") {
  SECTION("slow first byte beyond the read timeout -> deadline exceeded, not retried") {
    test_llm::FakeOpenAi fake;
    test_llm::StreamOptions so;
    so.first_delay = 1200ms;
    fake.then(test_llm::sse(test_llm::openai_stream({"late"}, false), so));
    auto o = options_for(fake);
    o.read_timeout = 300ms;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = provider(o)->stream(hello(), [](std::string_view) { return true; });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kDeadlineExceeded);
    CHECK(std::chrono::steady_clock::now() - t0 < 1100ms);
    CHECK(fake.hits() == 1);
  }
  SECTION("connection refused -> unavailable, retried") {
    int port = 0;
    {
      test_llm::FakeOpenAi gone;  // a port that was just free
      port = gone.port();
    }
    chat::OpenAiOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port);
    o.model = "m";
    o.retry_backoff = 1ms;
    auto r = provider(o)->complete(hello());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUnavailable);
  }
  SECTION("closed mid-stream after some chunks -> upstream error, no retry") {
    test_llm::FakeOpenAi fake;
    auto pieces = test_llm::openai_stream({"one ", "two ", "three"}, false);
    pieces.resize(3);  // role, "one ", "two "
    test_llm::StreamOptions so;
    so.drop_at_end = true;
    fake.then(test_llm::sse(pieces, so));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kUpstream);
    CHECK(c.all() == "one two ");
    CHECK(fake.hits() == 1);
  }
  SECTION("500 before the first chunk is retried; the stream then succeeds") {
    test_llm::FakeOpenAi fake;
    fake.then(test_llm::status(502, "bad gateway"));
    fake.then(test_llm::sse(test_llm::openai_stream({"ok"}, true)));
    Collected c;
    auto r = provider(options_for(fake))->stream(hello(), collect(c));
    REQUIRE(r.ok());
    CHECK(c.all() == "ok");
    CHECK(fake.hits() == 2);
  }
}

// ---- through the service: what a stream cut short leaves behind

TEST_CASE("openai through the service: streamed replies, cancelled and failed streams", "[llm][openai][service]") {
  test_llm::FakeOpenAi fake;
  auto o = options_for(fake);
  auto p = chat::make_openai_provider(o);
  REQUIRE(p.ok());
  svc_test::Fixture f({}, std::shared_ptr<chat::LlmProvider>(std::move(*p)));
  auto c = f.create(svc_test::kAlice);
  auto key = svc_test::key(c);

  SECTION("complete stream: stored complete with the server's usage") {
    fake.then(test_llm::sse(test_llm::openai_stream({"Hi", " there"}, true)));
    std::string got;
    chat::ReplyRequest r;
    r.content = "hello";
    auto out = f.svc->reply_stream(svc_test::kAlice, key, r, [&](const chat::StreamEvent& e) {
      got.append(e.chunk);
      return true;
    });
    REQUIRE(out.ok());
    CHECK(got == "Hi there");
    CHECK(out->assistant_message.content == "Hi there");
    CHECK(out->assistant_message.status == chat::MessageStatus::kComplete);
    CHECK(out->usage.prompt_tokens == 12);
    CHECK(out->usage.completion_tokens == 3);
  }
  SECTION("cancelled by the consumer: stored failed with what was delivered") {
    std::vector<std::string> texts;
    for (int i = 0; i < 100; ++i) texts.push_back(numbered("t", i));
    test_llm::StreamOptions so;
    so.delay = 2ms;
    fake.then(test_llm::sse(test_llm::openai_stream(texts, true), so));
    int n = 0;
    chat::ReplyRequest r;
    r.content = "go";
    auto out = f.svc->reply_stream(svc_test::kAlice, key, r, [&](const chat::StreamEvent&) { return ++n < 3; });
    REQUIRE(out.ok());
    CHECK(out->assistant_message.status == chat::MessageStatus::kFailed);
    CHECK(out->assistant_message.content == "t0 t1 ");
  }
  SECTION("server gone mid-stream: 502-class error, partial answer stored failed") {
    auto pieces = test_llm::openai_stream({"half ", "way"}, false);
    pieces.resize(2);
    test_llm::StreamOptions so;
    so.drop_at_end = true;
    fake.then(test_llm::sse(pieces, so));
    chat::ReplyRequest r;
    r.content = "go";
    auto out = f.svc->reply_stream(svc_test::kAlice, key, r, [](const chat::StreamEvent&) { return true; });
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code == chat::ErrorCode::kUpstream);
    chat::MessageQuery q;
    q.role = chat::Role::kAssistant;
    auto page = f.svc->list_messages(svc_test::kAlice, key, q);
    REQUIRE(page.ok());
    REQUIRE(page->items.size() == 1);
    CHECK(page->items[0].status == chat::MessageStatus::kFailed);
    CHECK(page->items[0].content == "half ");
  }
}
