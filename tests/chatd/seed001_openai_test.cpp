// Seed 001's SSE chat with --llm openai: the OpenAI-compatible provider
// against the fake server (tests/fake_openai.hpp), streamed through chatd to
// an HTTP client. The stream the model server sends is cut at awkward byte
// boundaries; what the client sees and what is stored must still agree.
#include <catch2/catch.hpp>

#include "chat/openai_provider.hpp"
#include "chatd/live_server.hpp"
#include "llm/fake_openai.hpp"

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<chat::LlmProvider> provider_at(const std::string& base) {
  chat::OpenAiOptions o;
  o.base_url = base;
  o.model = "gpt-4o-mini";
  o.connect_timeout = 1s;
  o.read_timeout = 5s;
  o.retry_backoff = 5ms;
  auto p = chat::make_openai_provider(o);
  REQUIRE(p.ok());
  return std::shared_ptr<chat::LlmProvider>(std::move(*p));
}

// The `data:` payloads of an SSE body.
std::vector<json> events_of(const std::string& body) {
  std::vector<json> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const auto end = body.find("\n\n", pos);
    REQUIRE(end != std::string::npos);
    out.push_back(json::parse(body.substr(pos + 6, end - pos - 6)));
    pos = end + 2;
  }
  return out;
}

chat::Message last_message(const chatd_test::LiveServer& s, const std::string& session) {
  auto page = s.service->list_messages(chat::Principal::anonymous(), chat::ConversationKey::of_handle(session), {});
  REQUIRE(page.ok());
  REQUIRE_FALSE(page->items.empty());
  return page->items.back();
}

}  // namespace

TEST_CASE("seed001 stream with the openai provider: chunks relayed as the model sends them, reply stored",
          "[http][seed001][openai]") {
  test_llm::FakeOpenAi fake;
  chatd_test::LiveOptions o;
  o.llm = provider_at(fake.base_url());
  o.service.default_model = "gpt-4o-mini";
  chatd_test::LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "oa"}}).status == 201);

  // 7-byte pieces split "data:", JSON and the UTF-8 of "é" across writes.
  fake.then(test_llm::sse(test_llm::recut(test_llm::openai_stream({"Caf", "é au", " lait"}, true), 7)));
  auto r = s.post("/api/chats/messages/chat/stream/", {{"session_id", "oa"}, {"message", "coffee?"}});
  REQUIRE(r.status == 200);
  auto events = events_of(r.body);
  REQUIRE(events.size() == 4);
  CHECK(events[0]["chunk"] == "Caf");
  CHECK(events[1]["chunk"] == "é au");
  CHECK(events[2]["chunk"] == " lait");
  CHECK(events[3]["done"] == true);

  const auto reply = last_message(s, "oa");
  CHECK(reply.uuid == events[3]["response_id"]);
  CHECK(reply.content == "Café au lait");
  CHECK(reply.status == chat::MessageStatus::kComplete);
  CHECK(reply.tokens_used == 3);  // the usage chunk the server sent
  CHECK(fake.body(0)["stream"] == true);
  CHECK(fake.body(0)["messages"].back() == json({{"role", "user"}, {"content", "coffee?"}}));
}

TEST_CASE("seed001 stream with the openai provider: a model server cut off mid-stream stores a failed reply",
          "[http][seed001][openai]") {
  test_llm::FakeOpenAi fake;
  chatd_test::LiveOptions o;
  o.llm = provider_at(fake.base_url());
  o.service.default_model = "gpt-4o-mini";
  chatd_test::LiveServer s(o);
  REQUIRE(s.post("/api/chats/sessions/", {{"session_id", "cut"}}).status == 201);

  auto pieces = test_llm::openai_stream({"Half", " an"}, false);
  pieces.resize(3);  // role delta and two content deltas; no finish, no [DONE]
  test_llm::StreamOptions cut;
  cut.drop_at_end = true;
  fake.then(test_llm::sse(pieces, cut));
  auto r = s.post("/api/chats/messages/chat/stream/", {{"session_id", "cut"}, {"message", "go"}});
  REQUIRE(r.status == 200);  // the stream had started
  auto events = events_of(r.body);
  REQUIRE_FALSE(events.empty());
  CHECK(events.back()["done"] == true);
  CHECK(events.back().contains("error"));

  const auto reply = last_message(s, "cut");
  CHECK(reply.role == chat::Role::kAssistant);
  CHECK(reply.content == "Half an");
  CHECK(reply.status == chat::MessageStatus::kFailed);
}
