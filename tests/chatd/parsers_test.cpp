// The routes' parsers are pure functions of (request, path params): these
// tests call them with hand-built requests, no server. Error fields and
// messages are the library's words; the API's ErrorStyle (error_style.hpp)
// renames them on the wire, which the seed tests check over HTTP.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "error_style.hpp"
#include "routes/registry_requests.hpp"
#include "routes/seed000_requests.hpp"
#include "routes/seed001_requests.hpp"
#include "routes/seed002_requests.hpp"
#include "routes/seed003_requests.hpp"
#include "routes/seed004_requests.hpp"
#include "routes/shapes.hpp"

using chat::ErrorCode;

namespace {

httplib::Request body(std::string text) {
  httplib::Request req;
  req.body = std::move(text);
  return req;
}

httplib::Request query(std::multimap<std::string, std::string> params) {
  httplib::Request req;
  req.params = std::move(params);
  return req;
}

chatd::PathParams path(std::string name, std::string value) {
  chatd::PathParams p;
  p.add(std::move(name), std::move(value));
  return p;
}

template <class T>
void check_invalid(const chat::Result<T>& r, const std::string& field, const std::string& message) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  CHECK(r.error().field == field);
  CHECK(r.error().message == message);
}

}  // namespace

TEST_CASE("parsers: pages have per-API defaults and maxima", "[chatd][parse]") {
  const chatd::PageSpec spec{20, 100, 50};
  auto none = chatd::parse_page(query({}), spec);
  REQUIRE(none.ok());
  CHECK(none->limit == 20);
  CHECK(none->offset == 0);
  auto edges = chatd::parse_page(query({{"limit", "100"}, {"offset", "50"}}), spec);
  REQUIRE(edges.ok());
  CHECK(edges->limit == 100);
  CHECK(edges->offset == 50);
  check_invalid(chatd::parse_page(query({{"limit", "0"}}), spec), "limit",
                "limit: must be an integer between 1 and 100");
  check_invalid(chatd::parse_page(query({{"limit", "101"}}), spec), "limit",
                "limit: must be an integer between 1 and 100");
  check_invalid(chatd::parse_page(query({{"offset", "51"}}), spec), "offset",
                "offset: must be an integer between 0 and 50");
  check_invalid(chatd::parse_page(query({{"limit", "ten"}}), spec), "limit",
                "limit: must be an integer between 1 and 100");
}

TEST_CASE("parsers: string-or-integer ids", "[chatd][parse]") {
  auto obj = nlohmann::json::parse(R"({"i": 123, "s": "abc", "e": "", "f": 1.5, "n": null, "b": true})");
  auto id = [&](const char* f) { return chatd::optional_string_or_integer(obj, f, "must be an id"); };
  CHECK(id("i")->value() == "123");
  CHECK(id("s")->value() == "abc");
  CHECK_FALSE(id("n")->has_value());
  CHECK_FALSE(id("absent")->has_value());
  check_invalid(id("e"), "e", "e: must be an id");
  check_invalid(id("f"), "f", "f: must be an id");
  check_invalid(id("b"), "b", "b: must be an id");
}

TEST_CASE("parsers: seed 000 post and patch", "[chatd][parse]") {
  const auto job = path("job_id", "J1");
  auto ok = chatd::parse_post_quote_message(
      body(R"({"message_id": "m1", "role": "assistant", "content": "hi", "metadata": {"a": 1}})"), job);
  REQUIRE(ok.ok());
  CHECK(ok->message.client_id == "m1");
  CHECK(ok->message.role == chat::Role::kAssistant);
  CHECK(ok->message.metadata == R"({"a":1})");
  CHECK(ok->key.text == "J1");
  CHECK(ok->key.kind == chat::ConversationKind::kQuote);

  check_invalid(chatd::parse_post_quote_message(body(R"({"role": "user", "content": "x"})"), job), "message_id",
                "message_id: required");
  check_invalid(chatd::parse_post_quote_message(body(R"({"message_id": "m", "role": "agent", "content": "x"})"), job),
                "role", "role: must be user or assistant");
  check_invalid(chatd::parse_post_quote_message(body(R"({"message_id": "m", "role": "user", "content": 5})"), job),
                "content", "content: must be a string");
  check_invalid(chatd::parse_post_quote_message(body("[1]"), job), "", "JSON body must be an object");

  // "" is not a content; an empty patch parses (libchat refuses it: service_rules_test).
  auto empty_patch = chatd::parse_patch_quote_message(body("{}"), job);
  REQUIRE(empty_patch.ok());
  CHECK_FALSE(empty_patch->patch.content.has_value());
  CHECK_FALSE(empty_patch->patch.metadata.has_value());
  check_invalid(chatd::parse_patch_quote_message(body(R"({"content": ""})"), job), "content",
                "content: must not be empty");
  auto meta_only = chatd::parse_patch_quote_message(body(R"({"metadata": {}})"), job);
  REQUIRE(meta_only.ok());
  CHECK_FALSE(meta_only->patch.content.has_value());
  CHECK(meta_only->patch.metadata == std::optional<std::string>("{}"));
}

TEST_CASE("parsers: seed 001 sessions and messages", "[chatd][parse]") {
  const chatd::PathParams none;
  auto empty = chatd::parse_create_session(body(""), none);
  REQUIRE(empty.ok());
  CHECK(empty->session.kind == chat::ConversationKind::kSession);
  CHECK(empty->session.handle.empty());
  check_invalid(chatd::parse_create_session(body(R"({"expires_at": "tomorrow"})"), none), "expires_at",
                "expires_at: not an ISO 8601 time");

  // The page maximum is the service's (ServiceLimits::max_page).
  const chat::ServiceLimits limits{1000, std::chrono::seconds(30)};
  auto listed = chatd::parse_list_sessions(query({{"is_active", "false"}}), none, limits);
  REQUIRE(listed.ok());
  CHECK(listed->query.limit == chatd::kDefaultSessionPage);
  CHECK(listed->query.is_active == std::optional<bool>(false));
  check_invalid(chatd::parse_list_sessions(query({{"limit", "1001"}}), none, limits), "limit",
                "limit: must be an integer between 1 and 1000");
  check_invalid(chatd::parse_list_sessions(query({{"limit", "11"}}), none, chat::ServiceLimits{10, {}}), "limit",
                "limit: must be an integer between 1 and 10");
  auto history = chatd::parse_list_session_messages(query({{"session_id", "s"}}), none, limits);
  REQUIRE(history.ok());
  CHECK(history->query.limit == 1000);  // a session's whole history by default

  check_invalid(chatd::parse_list_session_messages(query({}), none, limits), "session_id",
                "session_id: required query parameter");
  check_invalid(chatd::parse_list_session_messages(query({{"session_id", "s"}, {"role", "agent"}}), none, limits), "role",
                "role: must be user, assistant or system");

  check_invalid(chatd::parse_session_chat(body(R"({"session_id": "s", "message": "  "})"), none), "message",
                "message: must not be empty");
  auto chat_in = chatd::parse_session_chat(body(R"({"session_id": "s", "message": "hello"})"), none);
  REQUIRE(chat_in.ok());
  CHECK(chat_in->reply.content == "hello");
  CHECK(chat_in->key.text == "s");
}

TEST_CASE("parsers: seed 002 polls", "[chatd][parse]") {
  const auto uuid = path("uuid", "ABC");
  auto poll = chatd::parse_poll_messages(query({{"since", "7"}, {"wait", "5"}}), uuid);
  REQUIRE(poll.ok());
  CHECK(poll->since == 7);
  CHECK(poll->wait_seconds == 5);
  CHECK(poll->uuid == "ABC");
  check_invalid(chatd::parse_poll_messages(query({{"since", "-1"}}), uuid), "since",
                "since: must be an integer between 0 and 9223372036854775807");
  check_invalid(chatd::parse_post_support_message(body(R"({"content": ""})"), {}), "content",
                "content: must not be empty");
}

TEST_CASE("parsers: seed 003 path ids that are not positive integers are 404", "[chatd][parse]") {
  for (const char* bad : {"abc", "0", "-3", "12abc", "1e3"}) {
    INFO(bad);
    auto r = chatd::parse_support_chat(httplib::Request{}, path("id", bad));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kNotFound);
    CHECK(r.error().message == "conversation not found");
    // The path is checked before the body: a bad id with a bad body is still 404.
    CHECK(chatd::parse_update_support_chat(body("{"), path("id", bad)).error().code == ErrorCode::kNotFound);
  }
  auto ok = chatd::parse_support_chat(httplib::Request{}, path("id", "42"));
  REQUIRE(ok.ok());
  CHECK(ok->key.id == 42);
  CHECK(ok->key.by == chat::ConversationKey::By::kId);
  CHECK(ok->key.kind == chat::ConversationKind::kSupport);
}

TEST_CASE("parsers: seed 003 bodies and queries", "[chatd][parse]") {
  const auto id = path("id", "1");
  check_invalid(chatd::parse_create_support_chat(body(R"({"title": "t", "agent_id": "2"})"), {}), "agent_id",
                "agent_id: must be an integer");
  check_invalid(chatd::parse_update_support_chat(body(R"({"title": " "})"), id), "title", "title: must not be empty");
  check_invalid(chatd::parse_update_support_chat(body(R"({"is_pinned": 1})"), id), "is_pinned",
                "is_pinned: must be a boolean");
  check_invalid(chatd::parse_add_support_chat_message(body(R"({"content": "x", "sender_type": "bot"})"), id),
                "sender_type", "sender_type: must be \"user\" or \"agent\"");
  auto agent = chatd::parse_add_support_chat_message(body(R"({"content": "x", "sender_type": "agent"})"), id);
  REQUIRE(agent.ok());
  CHECK(agent->sender == chatd::Sender::kAgent);
  check_invalid(chatd::parse_mark_read(body(R"({"up_to": -1})"), id), "up_to", "up_to: must not be negative");
  auto read_all = chatd::parse_mark_read(body(""), id);
  REQUIRE(read_all.ok());
  CHECK(read_all->up_to == 0);

  auto ai = chatd::parse_ai_response(body(R"({"message": "   "})"), id);
  REQUIRE(ai.ok());
  CHECK(ai->reply.content.empty());
  CHECK(ai->reply.include_context);

  check_invalid(chatd::parse_search_support(query({{"query", "  "}}), {}), "query", "query: required");
  check_invalid(chatd::parse_search_support(query({{"query", "x"}, {"limit", "101"}}), {}), "limit",
                "limit: must be an integer between 1 and 100");
  check_invalid(chatd::parse_dashboard(query({{"days", "367"}}), {}), "days",
                "days: must be an integer between 1 and 366");
}

TEST_CASE("parsers: seed 004 and the registries", "[chatd][parse]") {
  auto start = chatd::parse_start_coach(body(R"({"job_id": 123, "question": "q"})"), {});
  REQUIRE(start.ok());
  CHECK(start->start.job_id == "123");
  check_invalid(chatd::parse_start_coach(body(R"({"question": "q"})"), {}), "job_id", "job_id: required");
  check_invalid(chatd::parse_start_coach(body(R"({"job_id": "", "question": "q"})"), {}), "job_id",
                "job_id: must be an integer or a non-empty string");
  check_invalid(chatd::parse_put_profile(body(R"({"skills": "c++"})"), {}), "skills", "skills: must be an array");
  auto profile = chatd::parse_put_profile(body(R"({"skills": ["c++"]})"), {});
  REQUIRE(profile.ok());
  CHECK(profile->profile.skills == R"(["c++"])");
  CHECK(profile->profile.education == "[]");

  check_invalid(chatd::parse_put_agent(body(R"({"id": 0, "name": "a"})"), {}), "id", "id: must be a positive integer");
  CHECK(chatd::parse_get_agent(httplib::Request{}, path("id", "x")).error().code == ErrorCode::kNotFound);
  check_invalid(chatd::parse_put_job(body(R"({"id": [], "title": "t"})"), {}), "id",
                "id: must be a non-empty string or an integer");
}

TEST_CASE("error style: renames the field and the field name opening the message", "[chatd][parse]") {
  const chatd::ErrorStyle style{{{"content", "message"}, {"text", "query"}}, nullptr};
  auto e = chatd::restyle(style, chat::Error::invalid("content", "content is longer than 10 bytes")).error;
  CHECK(e.field == "message");
  CHECK(e.message == "message is longer than 10 bytes");
  // Only the whole word at the start is the field name.
  auto other = chatd::restyle(style, chat::Error::invalid("content", "content_type is bad")).error;
  CHECK(other.field == "message");
  CHECK(other.message == "content_type is bad");
  auto untouched = chatd::restyle(style, chat::Error::invalid("title", "content is fine")).error;
  CHECK(untouched.field == "title");
  CHECK(untouched.message == "content is fine");
  // The code never changes.
  CHECK(chatd::restyle(style, chat::Error::conflict("text", "text taken")).error.code == ErrorCode::kConflict);
}

// Issue 10: one blank rule (chat::is_blank: Unicode White_Space) in every
// parser that requires text, one filter-text rule for every search parameter.
TEST_CASE("parsers: blank is Unicode White_Space on every required text", "[chatd][parse][text]") {
  const auto job = path("job_id", "J1");
  const auto id = path("id", "1");
  const auto sid = path("session_id", "s");
  const chatd::PathParams none;
  // JSON escapes of " ", NBSP, ideographic space, em space, line separator, NEL, \v, \f.
  for (const char* escaped : {" ", "\\u00a0", "\\u3000", "\\u2003", "\\u2028", "\\u0085", "\\u000b", "\\u000c",
                              " \\u00a0\\t"}) {
    const std::string blank = escaped;
    INFO("blank: " << blank);
    const std::string q = "\"" + blank + "\"";
    check_invalid(chatd::parse_post_quote_message(body(R"({"message_id": "m", "role": "user", "content": )" + q + "}"),
                                                  job),
                  "content", "content: must not be empty");
    check_invalid(chatd::parse_patch_quote_message(body(R"({"content": )" + q + "}"), job), "content",
                  "content: must not be empty");
    check_invalid(chatd::parse_post_session_message(body(R"({"session_id": "s", "message": )" + q + "}"), none),
                  "message", "message: must not be empty");
    check_invalid(chatd::parse_session_chat(body(R"({"session_id": "s", "message": )" + q + "}"), none), "message",
                  "message: must not be empty");
    check_invalid(chatd::parse_post_support_message(body(R"({"content": )" + q + "}"), none), "content",
                  "content: must not be empty");
    check_invalid(chatd::parse_create_support_chat(body(R"({"title": )" + q + "}"), none), "title",
                  "title: must not be empty");
    check_invalid(chatd::parse_update_support_chat(body(R"({"title": )" + q + "}"), id), "title",
                  "title: must not be empty");
    check_invalid(chatd::parse_add_support_chat_message(body(R"({"content": )" + q + "}"), id), "content",
                  "content: must not be empty");
    check_invalid(chatd::parse_start_coach(body(R"({"job_id": 1, "question": )" + q + "}"), none), "question",
                  "question: must not be empty");
    check_invalid(chatd::parse_coach_message(body(R"({"message": )" + q + "}"), sid), "message",
                  "message: must not be empty");
    check_invalid(chatd::parse_put_agent(body(R"({"name": )" + q + "}"), none), "name", "name: must not be empty");
    auto ai = chatd::parse_ai_response(body(R"({"message": )" + q + "}"), id);
    REQUIRE(ai.ok());
    CHECK(ai->reply.content.empty());  // blank counts as absent: answer the latest user message
  }
  // A visible character or a zero-width space is text.
  CHECK(chatd::parse_post_support_message(body(R"({"content": "\u00a0x"})"), none).ok());
  CHECK(chatd::parse_post_support_message(body(R"({"content": "\u200b"})"), none).ok());
}

TEST_CASE("parsers: search parameters refuse control characters, naming the parameter", "[chatd][parse][text]") {
  const chatd::PathParams none;
  const chat::ServiceLimits limits{1000, std::chrono::seconds(30)};
  const std::string message =
      "must not contain control characters (U+0000..U+001F except tab, line feed, carriage return; U+007F)";
  using namespace std::string_literals;
  for (const std::string& bad : {"beta\0"s, "\0"s, "a\x01"s, "\x7f"s}) {
    check_invalid(chatd::parse_list_sessions(query({{"search", bad}}), none, limits), "search", "search: " + message);
    check_invalid(chatd::parse_list_session_messages(query({{"session_id", "s"}, {"search", bad}}), none, limits),
                  "search", "search: " + message);
    check_invalid(chatd::parse_search_support(query({{"query", "hello" + bad}}), none), "query", "query: " + message);
  }
  check_invalid(chatd::parse_search_support(query({{"query", "\xFF"}}), none), "query", "query: is not valid UTF-8");
  auto ok = chatd::parse_list_sessions(query({{"search", "Ärztin"}}), none, limits);
  REQUIRE(ok.ok());
  CHECK(ok->query.search == "Ärztin");
}

TEST_CASE("parsers: every list takes a bounded limit and an offset", "[chatd][parse]") {
  const chat::ServiceLimits limits{1000, std::chrono::seconds(30)};
  const auto job = path("job_id", "J1");
  const auto sid = path("session_id", "s");
  const auto id = path("id", "1");
  const chatd::PathParams none;

  auto quote = chatd::parse_quote_history(query({}), job, limits);
  REQUIRE(quote.ok());
  CHECK(quote->query.limit == 1000);  // an ordinary quote chat whole, as before
  CHECK(quote->query.offset == 0);
  CHECK(quote->job_id == "J1");
  auto quote2 = chatd::parse_quote_history(query({{"limit", "10"}, {"offset", "20"}}), job, limits);
  REQUIRE(quote2.ok());
  CHECK(quote2->query.limit == 10);
  CHECK(quote2->query.offset == 20);
  check_invalid(chatd::parse_quote_history(query({{"limit", "1001"}}), job, limits), "limit",
                "limit: must be an integer between 1 and 1000");

  auto sessions = chatd::parse_list_coach_sessions(query({}), none, limits);
  REQUIRE(sessions.ok());
  CHECK(sessions->query.limit == chatd::kDefaultCoachSessionPage);
  check_invalid(chatd::parse_list_coach_sessions(query({{"limit", "0"}}), none, limits), "limit",
                "limit: must be an integer between 1 and 1000");
  check_invalid(chatd::parse_list_coach_sessions(query({{"offset", "-1"}}), none, limits), "offset",
                "offset: must be an integer between 0 and 9223372036854775807");
  auto small = chatd::parse_list_coach_sessions(query({}), none, chat::ServiceLimits{10, {}});
  REQUIRE(small.ok());
  CHECK(small->query.limit == 10);  // the default never exceeds the service's maximum

  auto history = chatd::parse_coach_history(query({{"offset", "5"}}), sid, limits);
  REQUIRE(history.ok());
  CHECK(history->query.limit == 1000);
  CHECK(history->query.offset == 5);
  CHECK_FALSE(history->query.include_system);
  CHECK(history->session_id == "s");

  auto agents = chatd::parse_list_agents(query({{"limit", "2"}, {"offset", "1"}}), none, limits);
  REQUIRE(agents.ok());
  CHECK(agents->page.limit == 2);
  CHECK(agents->page.offset == 1);
  check_invalid(chatd::parse_list_agents(query({{"limit", "1001"}}), none, limits), "limit",
                "limit: must be an integer between 1 and 1000");

  auto activity = chatd::parse_list_activity(query({}), id);
  REQUIRE(activity.ok());
  CHECK(activity->page.limit == 100);
  check_invalid(chatd::parse_list_activity(query({{"limit", "101"}}), id), "limit",
                "limit: must be an integer between 1 and 100");
  CHECK(chatd::parse_list_activity(query({}), path("id", "x")).error().code == ErrorCode::kNotFound);

  const std::vector<int> all{1, 2, 3, 4, 5};
  CHECK(chatd::page_of(all, {2, 1}) == std::vector<int>{2, 3});
  CHECK(chatd::page_of(all, {10, 4}) == std::vector<int>{5});
  CHECK(chatd::page_of(all, {10, 99}).empty());
  CHECK(chatd::page_of(all, {std::numeric_limits<std::int64_t>::max(), 1}) == std::vector<int>{2, 3, 4, 5});
}
