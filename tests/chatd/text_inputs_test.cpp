// Issue 10 over HTTP: the text and list inputs a fuzzer and users of other
// chat products sent, as regression tests on every seed API. Their rules live
// in libchat (chat/text.hpp, tested in tests/libchat); these check that every
// route follows them: a 400 naming the parameter, nothing stored, never 500.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "chatd/live_server.hpp"

using chat::PrincipalRole;
using chatd_test::LiveServer;
using nlohmann::json;

namespace {

void check_400(const chatd_test::HttpResult& r, const std::string& field) {
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.json["error"]["field"] == field);
}

std::string create_session(LiveServer& s, const json& body = json::object()) {
  auto r = s.post("/api/chats/sessions/", body);
  REQUIRE(r.status == 201);
  return r.json["session_id"].get<std::string>();
}

void post_session_message(LiveServer& s, const std::string& sid, const std::string& text) {
  REQUIRE(s.post("/api/chats/messages/", {{"session_id", sid}, {"message", text}}).status == 201);
}

std::vector<std::string> contents(const json& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m["message"].get<std::string>());
  return out;
}

// The blank inputs of the issue: each one alone is not a text.
const std::vector<std::string> kBlanks{"\u00a0", "\u3000", "\u2003", "\u2028", "\u0085", "\v", "\f", " "};

}  // namespace

TEST_CASE("text inputs: NUL in search and filter text is 400 naming the parameter, never 500", "[http][text]") {
  LiveServer s;
  const auto bearer = s.token("1");
  // Seed 003 full-text search: was 500 ("unterminated string").
  auto fts = s.get("/chat/search?query=hello%00", bearer);
  check_400(fts, "query");
  check_400(s.get("/chat/search?query=%00", bearer), "query");
  check_400(s.get("/chat/search?query=a%01b", bearer), "query");

  // Seed 001 message search: was cut at the NUL ("beta\0" matched "alpha beta").
  const auto sid = create_session(s);
  post_session_message(s, sid, "alpha beta");
  post_session_message(s, sid, "beta max");
  check_400(s.get("/api/chats/messages/?session_id=" + sid + "&search=beta%00"), "search");
  check_400(s.get("/api/chats/messages/?session_id=" + sid + "&search=%00"), "search");
  check_400(s.get("/api/chats/sessions/?search=%00"), "search");
  check_400(s.get("/api/chats/sessions/?search=x%7F"), "search");
  auto beta = s.get("/api/chats/messages/?session_id=" + sid + "&search=beta");
  REQUIRE(beta.status == 200);
  CHECK(contents(beta.json) == std::vector<std::string>{"alpha beta", "beta max"});
  // Tab, CR, LF are allowed (not controls here): they just match nothing.
  CHECK(s.get("/api/chats/messages/?session_id=" + sid + "&search=beta%09max").status == 200);
}

TEST_CASE("text inputs: case-insensitive filters fold Unicode, not ASCII only", "[http][text]") {
  LiveServer s;
  const auto sid = create_session(s, {{"external_user_id", "Ärztin-Müller"}});
  post_session_message(s, sid, "Über die Straße");
  post_session_message(s, sid, "ПРИВЕТ");
  post_session_message(s, sid, "ΣΊΣΥΦΟΣ");
  post_session_message(s, sid, "ÉCOLE");
  auto find = [&](const std::string& encoded) {
    auto r = s.get("/api/chats/messages/?session_id=" + sid + "&search=" + encoded);
    REQUIRE(r.status == 200);
    return contents(r.json);
  };
  CHECK(find("%C3%BCber") == std::vector<std::string>{"Über die Straße"});          // über
  CHECK(find("STRASSE") == std::vector<std::string>{"Über die Straße"});
  CHECK(find("%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82") == std::vector<std::string>{"ПРИВЕТ"});  // привет
  CHECK(find("%CF%83%CE%AF%CF%83%CF%85%CF%86%CE%BF%CF%82") == std::vector<std::string>{"ΣΊΣΥΦΟΣ"});  // σίσυφος
  CHECK(find("%C3%A9cole") == std::vector<std::string>{"ÉCOLE"});                   // école
  auto sessions = s.get("/api/chats/sessions/?search=%C3%A4rztin", s.token("ops", chat::PrincipalRole::kAgent));  // ärztin
  REQUIRE(sessions.status == 200);
  REQUIRE(sessions.json.size() == 1);
  CHECK(sessions.json[0]["session_id"] == sid);

  // Seed 003's full-text search folds case too (FTS5 unicode61).
  const auto bearer = s.token("1");
  auto chat = s.post("/chat/conversations", {{"title", "Ärztin-Termin"}}, bearer);
  REQUIRE(chat.status == 201);
  const auto id = std::to_string(chat.json["data"]["conversation_id"].get<std::int64_t>());
  REQUIRE(s.post("/chat/conversations/" + id + "/messages", {{"content", "Über die Ärztin"}}, bearer).status == 201);
  for (const char* q : {"%C3%BCber", "%C3%84RZTIN", "%C3%A4rztin"}) {
    auto r = s.get(std::string("/chat/search?query=") + q, bearer);
    REQUIRE(r.status == 200);
    CHECK(r.json["data"]["total"] == 1);
  }
}

TEST_CASE("text inputs: Unicode White_Space alone is blank on every route that requires text", "[http][text]") {
  LiveServer s;
  const auto user = s.token("1");
  const auto sid = create_session(s);
  chat::Subject job;
  job.id = "7";
  job.title = "Job 7";
  REQUIRE(s.service->put_subject(chat::Principal::user("1"), job).ok());
  auto chat = s.post("/chat/conversations", {{"title", "t"}}, user);
  REQUIRE(chat.status == 201);
  const auto one = "/chat/conversations/" + std::to_string(chat.json["data"]["conversation_id"].get<std::int64_t>());
  REQUIRE(s.post("/api/jobs/", {{"id", "J1"}, {"title", "Quote me"}}, user).status == 201);

  for (const auto& blank : kBlanks) {
    INFO("blank: " << json(blank).dump());
    check_400(s.post("/api/chats/messages/", {{"session_id", sid}, {"message", blank}}), "message");  // seed 001
    check_400(s.post("/api/chats/messages/chat/", {{"session_id", sid}, {"message", blank}}), "message");
    check_400(s.post("/api/messages/", {{"content", blank}}), "content");  // seed 002
    check_400(s.post("/chat/conversations", {{"title", blank}}, user), "title");  // seed 003
    check_400(s.send("PUT", one, json{{"title", blank}}.dump(), user), "title");
    check_400(s.post(one + "/messages", {{"content", blank}}, user), "content");
    check_400(s.post("/api/chat/start", {{"job_id", 7}, {"question", blank}}, user), "question");  // seed 004
    check_400(s.post("/api/jobs/J1/quote-chat/", {{"message_id", "m"}, {"role", "user"}, {"content", blank}}, user),
              "content");  // seed 000
  }
  // Nothing was stored: the session has no message, the support desk no conversation.
  auto listed = s.get("/api/chats/messages/?session_id=" + sid);
  REQUIRE(listed.status == 200);
  CHECK(listed.json.empty());
  auto desk = s.get("/api/conversation/", s.token("9", PrincipalRole::kAgent));
  REQUIRE(desk.status == 200);
  CHECK(desk.json["count"] == 1);  // the seed 003 chat created above, nothing from seed 002
}

TEST_CASE("text inputs: control characters in stored text, blank ids, replies to nothing", "[http][text]") {
  LiveServer s;
  const auto user = s.token("1");
  const auto sid = create_session(s);
  auto chat = s.post("/chat/conversations", {{"title", "t"}}, user);
  REQUIRE(chat.status == 201);
  const auto one = "/chat/conversations/" + std::to_string(chat.json["data"]["conversation_id"].get<std::int64_t>());
  // NUL, ESC and other C0 controls (tab, line feed and carriage return excepted) are never stored.
  for (const std::string& bad : {std::string("a\0b", 3), std::string("\x1b[31mred"), std::string("\x7f")}) {
    INFO("text: " << json(bad).dump());
    check_400(s.post("/api/chats/messages/", {{"session_id", sid}, {"message", bad}}), "message");
    check_400(s.post(one + "/messages", {{"content", bad}}, user), "content");
    check_400(s.post("/chat/conversations", {{"title", bad}}, user), "title");
    check_400(s.post("/api/chats/sessions/", {{"external_user_id", bad}}), "external_user_id");
  }
  CHECK(s.post(one + "/messages", {{"content", "tab\tand\nlines\r\n"}}, user).status == 201);
  // A job id given must not be blank.
  for (const auto& blank : kBlanks) {
    INFO("blank: " << json(blank).dump());
    check_400(s.post("/api/jobs/", {{"id", blank}, {"title", "t"}}, user), "id");
  }
  // An AI reply with no message, in a conversation with no user message, answers nothing: 400, nothing stored.
  auto empty = s.post("/chat/conversations", {{"title", "empty"}}, user);
  REQUIRE(empty.status == 201);
  const auto empty_path =
      "/chat/conversations/" + std::to_string(empty.json["data"]["conversation_id"].get<std::int64_t>());
  check_400(s.post(empty_path + "/ai-response", {{"message", "\u00a0"}}, user), "message");
  check_400(s.post(empty_path + "/ai-response", json::object(), user), "message");
  CHECK(s.get(empty_path + "/messages", user).json["data"]["total"] == 0);
}

TEST_CASE("text inputs: every list answers one bounded page and a way to the next", "[http][lists]") {
  chatd_test::LiveOptions options;
  options.service.max_page = 5;  // small pages, same code paths as the default 1000
  LiveServer s(options);
  const auto alice = s.token("1");

  // Seed 004 sessions: was every session in one answer.
  for (int job = 1; job <= 7; ++job) {
    chat::Subject j;
    j.id = std::to_string(job);
    j.title = "Job";
    REQUIRE(s.service->put_subject(chat::Principal::user("1"), j).ok());
    REQUIRE(s.post("/api/chat/start", {{"job_id", job}, {"question", "q"}}, alice).status == 200);
  }
  auto first = s.get("/api/chat/sessions", alice);
  REQUIRE(first.status == 200);
  CHECK(first.json["sessions"].size() == 5);  // default 100, capped by the service's max_page
  CHECK(first.json["count"] == 7);
  CHECK(first.json["has_more"] == true);
  auto next = s.get("/api/chat/sessions?limit=5&offset=5", alice);
  REQUIRE(next.status == 200);
  CHECK(next.json["sessions"].size() == 2);
  CHECK(next.json["has_more"] == false);
  check_400(s.get("/api/chat/sessions?limit=6", alice), "limit");

  // Seed 004 history.
  const std::string session = first.json["sessions"][0]["session_id"];
  for (int i = 0; i < 3; ++i)
    REQUIRE(s.post("/api/chat/" + session + "/message", {{"message", "more"}}, alice).status == 200);
  auto history = s.get("/api/chat/" + session + "/history?limit=3&offset=2", alice);
  REQUIRE(history.status == 200);
  CHECK(history.json["count"] == 3);
  CHECK(history.json["total"] == 8);
  CHECK(history.json["has_more"] == true);
  check_400(s.get("/api/chat/" + session + "/history?offset=-1", alice), "offset");

  // Seed 000 history.
  REQUIRE(s.post("/api/jobs/", {{"id", "J1"}, {"title", "Quote me"}}, alice).status == 201);
  for (int i = 0; i < 7; ++i)
    REQUIRE(s.post("/api/jobs/J1/quote-chat/",
                   {{"message_id", "m" + std::to_string(i)}, {"role", "user"}, {"content", "c"}}, alice)
                .status == 201);
  auto quote = s.get("/api/jobs/J1/quote-chat/", alice);
  REQUIRE(quote.status == 200);
  CHECK(quote.json["data"]["messages"].size() == 5);  // a full page: ask for the next
  auto quote2 = s.get("/api/jobs/J1/quote-chat/?offset=5", alice);
  REQUIRE(quote2.status == 200);
  CHECK(quote2.json["data"]["messages"].size() == 2);
  CHECK(quote2.json["data"]["messages"][0]["message_id"] == "m5");  // fewer than limit: the last page
  CHECK(s.get("/api/jobs/J1/quote-chat/?limit=6", alice).status == 400);

  // Agents registry.
  const auto admin = s.token("root", PrincipalRole::kAdmin);
  for (int i = 0; i < 7; ++i) REQUIRE(s.post("/api/agents/", {{"name", "a" + std::to_string(i)}}, admin).status == 201);
  auto agents = s.get("/api/agents/", alice);
  REQUIRE(agents.status == 200);
  CHECK(agents.json["items"].size() == 5);
  CHECK(agents.json["count"] == 7);
  auto agents2 = s.get("/api/agents/?offset=5", alice);
  REQUIRE(agents2.status == 200);
  CHECK(agents2.json["items"].size() == 2);
  CHECK(agents2.json["items"][0]["name"] == "a5");

  // Seed 003 activity sessions.
  auto chat = s.post("/chat/conversations", {{"title", "t"}}, alice);
  REQUIRE(chat.status == 201);
  const auto one = "/chat/conversations/" + std::to_string(chat.json["data"]["conversation_id"].get<std::int64_t>());
  for (int i = 0; i < 3; ++i) {
    s.clock->advance(std::chrono::minutes(40));  // each message its own activity period (gap > 30 min)
    REQUIRE(s.post(one + "/messages", {{"content", "hi"}}, s.token("1")).status == 201);
  }
  const auto later = s.token("1");  // the test clock moved past the first token's hour
  auto periods = s.get(one + "/sessions?limit=2", later);
  REQUIRE(periods.status == 200);
  CHECK(periods.json["data"]["sessions"].size() == 2);
  CHECK(periods.json["data"]["total"] == 3);
  auto periods2 = s.get(one + "/sessions?limit=2&offset=2", later);
  REQUIRE(periods2.status == 200);
  CHECK(periods2.json["data"]["sessions"].size() == 1);
}
