// Seed 004 over HTTP: /api/chat/ (resume-coach sessions) and /api/profile/,
// with the echo provider and with the OpenAI provider against the fake server.
#include <catch2/catch.hpp>

#include "chat/openai_provider.hpp"
#include "chatd/live_server.hpp"
#include "config.hpp"
#include "llm/fake_openai.hpp"
#include "llm_setup.hpp"

using chatd_test::LiveOptions;
using chatd_test::LiveServer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

void put_job(LiveServer& s, const std::string& user, const std::string& id, const std::string& description) {
  chat::Subject j;
  j.id = id;
  j.title = "Job " + id;
  j.description = description;
  REQUIRE(s.service->put_subject(chat::Principal::user(user), j).ok());
}

}  // namespace

TEST_CASE("seed004: health is public, everything else needs a token", "[http][seed004]") {
  LiveServer s;
  auto h = s.get("/api/chat/health");
  CHECK(h.status == 200);
  CHECK(h.json["status"] == "healthy");
  CHECK(s.get("/api/chat/health/").status == 200);
  CHECK(s.post("/api/chat/start", {{"job_id", 1}, {"question", "q"}}).status == 401);
  CHECK(s.get("/api/chat/sessions").status == 401);
  CHECK(s.get("/api/profile/").status == 401);
  CHECK(s.put("/api/profile/", json::object()).status == 401);
}

TEST_CASE("seed004: profile registry", "[http][seed004]") {
  LiveServer s;
  auto alice = s.token("1");
  auto empty = s.get("/api/profile/", alice);
  REQUIRE(empty.status == 200);
  CHECK(empty.json["skills"] == json::array());
  json profile = {{"work_history", {{{"title", "Engineer"}, {"company", "Acme"}}}},
                  {"skills", {"C++", "SQL"}},
                  {"projects", json::array()}};
  auto put = s.put("/api/profile", profile, alice);
  REQUIRE(put.status == 200);
  CHECK(put.json["skills"] == json({"C++", "SQL"}));
  CHECK(put.json["education"] == json::array());
  CHECK(put.json["updated_at"].is_string());
  CHECK(s.get("/api/profile/", alice).json["work_history"][0]["company"] == "Acme");
  CHECK(s.get("/api/profile/", s.token("2")).json["skills"] == json::array());  // the caller's own
  auto bad = s.put("/api/profile/", {{"skills", "C++"}}, alice);
  CHECK(bad.status == 400);
  CHECK(bad.json["error"]["field"] == "skills");
}

TEST_CASE("seed004: start, message, history, context, sessions, deactivate", "[http][seed004]") {
  LiveServer s;
  auto alice = s.token("1");
  auto bob = s.token("2");
  put_job(s, "1", "7", "Senior C++ engineer. SQLite experience.");
  REQUIRE(s.put("/api/profile/", {{"skills", {"C++", "SQLite"}}}, alice).status == 200);

  auto start = s.post("/api/chat/start", {{"job_id", 7}, {"question", "How can I tailor my resume?"}}, alice);
  REQUIRE(start.status == 200);
  const std::string sid = start.json["session_id"];
  CHECK(sid.size() == 36);
  CHECK(start.json["response"] == "Echo: How can I tailor my resume?");
  CHECK(start.json["created"] == true);
  CHECK(start.json["session"]["job_id"] == "7");
  CHECK(start.json["session"]["total_messages"] == 2);
  CHECK(start.json["session"]["total_tokens_used"].is_number_integer());
  CHECK(start.json["usage"]["total_tokens"].get<int>() > 0);

  // The same job (as a string this time): the same session.
  auto again = s.post("/api/chat/start", {{"job_id", "7"}, {"question", "And the summary?"}}, alice);
  REQUIRE(again.status == 200);
  CHECK(again.json["session_id"] == sid);
  CHECK(again.json["created"] == false);
  CHECK(again.json["session"]["total_messages"] == 4);

  auto msg = s.post("/api/chat/" + sid + "/message", {{"message", "What should I highlight?"}}, alice);
  REQUIRE(msg.status == 200);
  CHECK(msg.json["response"] == "Echo: What should I highlight?");
  CHECK(msg.json["message_count"] == 6);
  // The integer id works in paths too.
  const auto id = start.json["id"].get<std::int64_t>();
  CHECK(s.post("/api/chat/" + std::to_string(id) + "/message", {{"message", "x"}}, alice).json["message_count"] == 8);

  // A system row and a deleted message never show in the history.
  auto conv = chat::ConversationKey::of_id(id);
  chat::NewMessage sys;
  sys.role = chat::Role::kSystem;
  sys.content = "internal note";
  REQUIRE(s.service->post_message(chat::Principal::admin("root"), conv, sys).ok());
  auto page = s.service->list_messages(chat::Principal::user("1"), conv, chat::MessageQuery{});
  REQUIRE(page.ok());
  REQUIRE(s.service->delete_message(chat::Principal::user("1"), chat::MessageKey::of_id(page->items.back().id - 1)).ok());

  auto hist = s.get("/api/chat/" + sid + "/history", alice);
  REQUIRE(hist.status == 200);
  CHECK(hist.json["count"] == 7);
  CHECK(hist.json["messages"][0]["role"] == "user");
  CHECK(hist.json["messages"][0]["content"] == "How can I tailor my resume?");
  CHECK(hist.json["messages"][1]["role"] == "assistant");
  CHECK(hist.json["messages"][0]["timestamp"] == "2026-01-01T00:00:00.000Z");
  for (const auto& m : hist.json["messages"]) CHECK(m["content"] != "internal note");

  auto ctx = s.get("/api/chat/" + sid + "/context", alice);
  REQUIRE(ctx.status == 200);
  CHECK(ctx.json["job_id"] == "7");
  CHECK(ctx.json["resume"].get<std::string>().rfind("## Resume\n### Skills\nC++, SQLite", 0) == 0);
  CHECK(ctx.json["job_description"] == "## Job: Job 7\nSenior C++ engineer. SQLite experience.");
  CHECK(ctx.json["initial_context"].get<std::string>().find(ctx.json["resume"].get<std::string>()) !=
        std::string::npos);

  auto sessions = s.get("/api/chat/sessions", alice);
  REQUIRE(sessions.status == 200);
  CHECK(sessions.json["count"] == 1);
  CHECK(sessions.json["sessions"][0]["session_id"] == sid);
  CHECK(s.get("/api/chat/sessions", bob).json["count"] == 0);

  // Another user's session is not there.
  CHECK(s.get("/api/chat/" + sid + "/history", bob).status == 404);
  CHECK(s.get("/api/chat/" + sid + "/context", bob).status == 404);
  CHECK(s.post("/api/chat/" + sid + "/message", {{"message", "hi"}}, bob).status == 404);
  CHECK(s.post("/api/chat/" + sid + "/deactivate", json::object(), bob).status == 404);

  auto off = s.post("/api/chat/" + sid + "/deactivate", json::object(), alice);
  REQUIRE(off.status == 200);
  CHECK(off.json["is_active"] == false);
  CHECK(s.get("/api/chat/" + sid + "/history", alice).status == 404);
  CHECK(s.get("/api/chat/" + sid + "/context", alice).status == 404);
  CHECK(s.post("/api/chat/" + sid + "/message", {{"message", "hi"}}, alice).status == 404);
  CHECK(s.get("/api/chat/sessions", alice).json["count"] == 0);
  auto fresh = s.post("/api/chat/start", {{"job_id", 7}, {"question", "Start over"}}, alice);
  REQUIRE(fresh.status == 200);
  CHECK(fresh.json["created"] == true);
  CHECK(fresh.json["session_id"] != sid);
  CHECK(fresh.json["session"]["total_messages"] == 2);
}

TEST_CASE("seed004: bad input names the field, unknown ids are 404", "[http][seed004]") {
  LiveServer s;
  auto alice = s.token("1");
  put_job(s, "1", "7", "d");
  auto field_of = [&](const chatd_test::HttpResult& r) { return r.json["error"]["field"]; };
  auto r = s.post("/api/chat/start", {{"question", "q"}}, alice);
  CHECK(r.status == 400);
  CHECK(field_of(r) == "job_id");
  r = s.post("/api/chat/start", {{"job_id", 1.5}, {"question", "q"}}, alice);
  CHECK(r.status == 400);
  CHECK(field_of(r) == "job_id");
  r = s.post("/api/chat/start", {{"job_id", 7}}, alice);
  CHECK(r.status == 400);
  CHECK(field_of(r) == "question");
  r = s.post("/api/chat/start", {{"job_id", 7}, {"question", 3}}, alice);
  CHECK(r.status == 400);
  CHECK(field_of(r) == "question");
  CHECK(s.send("POST", "/api/chat/start", "{oops", alice).status == 400);
  r = s.post("/api/chat/start", {{"job_id", 8}, {"question", "q"}}, alice);
  CHECK(r.status == 404);
  CHECK(s.get("/api/chat/sessions", alice).json["count"] == 0);  // nothing was created

  auto ok = s.post("/api/chat/start", {{"job_id", 7}, {"question", "q"}}, alice);
  REQUIRE(ok.status == 200);
  const std::string sid = ok.json["session_id"];
  r = s.post("/api/chat/" + sid + "/message", json::object(), alice);
  CHECK(r.status == 400);
  CHECK(field_of(r) == "message");
  r = s.post("/api/chat/" + sid + "/message", {{"message", ""}}, alice);
  CHECK(r.status == 400);
  CHECK(s.get("/api/chat/00000000-0000-4000-8000-000000000000/history", alice).status == 404);
  CHECK(s.get("/api/chat/nope/context", alice).status == 404);
  CHECK(s.post("/api/chat/999/message", {{"message", "x"}}, alice).status == 404);
}

namespace {

std::shared_ptr<chat::LlmProvider> openai_at(const std::string& base, std::chrono::milliseconds read_timeout = 2s) {
  chat::OpenAiOptions o;
  o.base_url = base;
  o.model = "llama3.1";
  o.read_timeout = read_timeout;
  o.connect_timeout = 1s;
  o.retry_backoff = 5ms;
  o.max_retry_after = 20ms;
  auto p = chat::make_openai_provider(o);
  REQUIRE(p.ok());
  return std::shared_ptr<chat::LlmProvider>(std::move(*p));
}

}  // namespace

TEST_CASE("seed004: with the OpenAI provider against the fake server", "[http][seed004][openai]") {
  test_llm::FakeOpenAi fake;
  LiveOptions o;
  o.llm = openai_at(fake.base_url());
  o.service.default_model = "llama3.1";
  LiveServer s(o);
  auto alice = s.token("1");
  put_job(s, "1", "7", "Rust and C++.");

  fake.then(test_llm::json_reply(200, test_llm::completion_json("Lead with your C++ projects.")));
  auto start = s.post("/api/chat/start", {{"job_id", 7}, {"question", "What first?"}}, alice);
  REQUIRE(start.status == 200);
  CHECK(start.json["response"] == "Lead with your C++ projects.");
  CHECK(start.json["usage"]["prompt_tokens"] == 21);  // reported by the server
  CHECK(start.json["usage"]["completion_tokens"] == 7);
  auto sent = fake.body(0);
  CHECK(sent["model"] == "llama3.1");
  REQUIRE(sent["messages"].size() == 3);
  CHECK(sent["messages"][1]["role"] == "system");
  CHECK(sent["messages"][1]["content"].get<std::string>().find("## Job: Job 7\nRust and C++.") != std::string::npos);
  CHECK(sent["messages"][2] == json({{"role", "user"}, {"content", "What first?"}}));
  const std::string sid = start.json["session_id"];

  SECTION("500 from the model server -> 502") {
    fake.then(test_llm::status(500, R"({"error":{"message":"model crashed"}})"));
    auto r = s.post("/api/chat/" + sid + "/message", {{"message", "and?"}}, alice);
    CHECK(r.status == 502);
    CHECK(r.json["error"]["code"] == "upstream_error");
    CHECK(r.json["message"].get<std::string>().find("model crashed") != std::string::npos);
  }
  SECTION("429 after retries -> 503") {
    fake.then(test_llm::status(429, R"({"error":{"message":"slow down"}})", {{"Retry-After", "1"}}));
    auto r = s.post("/api/chat/" + sid + "/message", {{"message", "and?"}}, alice);
    CHECK(r.status == 503);
    CHECK(r.json["error"]["code"] == "unavailable");
  }
  SECTION("garbage -> 502") {
    fake.then(test_llm::json_reply(200, "<html>proxy error</html>"));
    CHECK(s.post("/api/chat/" + sid + "/message", {{"message", "and?"}}, alice).status == 502);
  }
}

TEST_CASE("seed004: model server timing out or refusing -> 504 / 503", "[http][seed004][openai]") {
  SECTION("timeout") {
    test_llm::FakeOpenAi fake;
    test_llm::StreamOptions so;
    so.first_delay = 1200ms;
    fake.then(test_llm::sse({"data: [DONE]\n\n"}, so));
    LiveOptions o;
    o.llm = openai_at(fake.base_url(), 300ms);
    LiveServer s(o);
    put_job(s, "1", "7", "d");
    auto r = s.post("/api/chat/start", {{"job_id", 7}, {"question", "q"}}, s.token("1"));
    CHECK(r.status == 504);
    CHECK(r.json["error"]["code"] == "deadline_exceeded");
  }
  SECTION("refused") {
    int port = 0;
    {
      test_llm::FakeOpenAi gone;
      port = gone.port();
    }
    LiveOptions o;
    o.llm = openai_at("http://127.0.0.1:" + std::to_string(port));
    LiveServer s(o);
    put_job(s, "1", "7", "d");
    auto r = s.post("/api/chat/start", {{"job_id", 7}, {"question", "q"}}, s.token("1"));
    CHECK(r.status == 503);
    CHECK(r.json["error"]["code"] == "unavailable");
    // The session and the question are kept: the next start continues there.
    auto sessions = s.get("/api/chat/sessions", s.token("1"));
    CHECK(sessions.json["count"] == 1);
    CHECK(sessions.json["sessions"][0]["total_messages"] == 1);
  }
}

TEST_CASE("chatd llm setup: flags, key from the environment, tokenizer errors", "[llm][chatd]") {
  auto parse = [](std::vector<std::string> args) { return chatd::parse_command_line(args, {}); };
  auto inv = parse({"--llm", "openai", "--llm-base-url", "http://127.0.0.1:11434", "--llm-model", "llama3.1",
                    "--llm-api-key-env", "MY_KEY", "--llm-temperature", "0.2", "--llm-max-tokens", "300",
                    "--llm-timeout", "30", "--tokenizer-encoding", "o200k_base", "--context-tokens", "16384"});
  REQUIRE(inv.ok());
  const auto& c = inv->config;
  CHECK(c.llm_api_key_env == "MY_KEY");
  CHECK(c.llm_temperature == 0.2);
  CHECK(c.llm_max_tokens == 300);
  CHECK(c.llm_timeout_seconds == 30);
  CHECK(c.tokenizer_encoding == "o200k_base");
  CHECK(c.context_tokens == 16384);
  CHECK(parse({"--llm-temperature", "3"}).error().field == "--llm-temperature");
  CHECK(parse({"--tokenizer-encoding", "p50k"}).error().field == "--tokenizer-encoding");

  std::string asked;
  auto setup = chatd::make_llm_setup(c, [&](const std::string& name) -> std::optional<std::string> {
    asked = name;
    return std::string("sk-test");
  });
  REQUIRE(setup.ok());
  CHECK(asked == "MY_KEY");
  CHECK(setup->has_api_key);
  CHECK(setup->llm->name() == "openai");
  CHECK(setup->service.default_model == "llama3.1");
  CHECK(setup->service.context_tokens == 16384);
  CHECK_FALSE(setup->tokens->exact());

  chatd::Config no_model = c;
  no_model.llm_model.clear();
  CHECK(chatd::make_llm_setup(no_model, chatd::process_getenv).error().field == "--llm-model");
  chatd::Config bad_tok = c;
  bad_tok.tokenizer = "/nonexistent.tiktoken";
  auto t = chatd::make_llm_setup(bad_tok, chatd::process_getenv);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().field == "--tokenizer");
  chatd::Config echo;
  auto e = chatd::make_llm_setup(echo, chatd::process_getenv);
  REQUIRE(e.ok());
  CHECK(e->llm->name() == "echo");
}
