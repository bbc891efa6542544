#include <catch2/catch.hpp>

#include <set>

#include "chat/chat.hpp"
#include "json_text.hpp"

using namespace chat;

TEST_CASE("timestamps format as ISO 8601 UTC with milliseconds", "[time]") {
  CHECK(format_timestamp(from_millis(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_timestamp(from_millis(1719655200123)) == "2024-06-29T10:00:00.123Z");
}

TEST_CASE("timestamps parse the forms clients send", "[time]") {
  CHECK(parse_timestamp("2024-06-29T10:00:00Z") == from_millis(1719655200000));
  CHECK(parse_timestamp("2024-06-29T10:00:00.5Z") == from_millis(1719655200500));
  CHECK(parse_timestamp("2024-06-29T12:00:00+02:00") == from_millis(1719655200000));
  CHECK(parse_timestamp("2024-06-29 10:00:00") == from_millis(1719655200000));
  CHECK(parse_timestamp("2024-06-29T10:00:00.123456Z") == from_millis(1719655200123));
  for (auto bad : {"", "2024-02-30T00:00:00Z", "2024-06-29", "2024-06-29T25:00:00Z", "2024-06-29T10:00:00Zjunk",
                   "yesterday", "2024-06-29T10:00:00."}) {
    INFO(bad);
    CHECK_FALSE(parse_timestamp(bad).has_value());
  }
}

TEST_CASE("a formatted timestamp parses back to itself", "[time]") {
  for (std::int64_t ms : {0LL, 1LL, 951782400999LL, 1719655200123LL, 4102444800000LL}) {
    auto t = from_millis(ms);
    CHECK(parse_timestamp(format_timestamp(t)) == t);
  }
}

TEST_CASE("manual clock moves only when told", "[time]") {
  ManualClock clock(from_millis(1000));
  CHECK(clock.now() == from_millis(1000));
  clock.advance(std::chrono::seconds(2));
  CHECK(clock.now() == from_millis(3000));
  clock.set(from_millis(5));
  CHECK(clock.now() == from_millis(5));
}

TEST_CASE("uuid v4 are canonical, versioned and distinct", "[uuid]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto u = generate_uuid_v4();
    REQUIRE(is_uuid(u));
    CHECK(u[14] == '4');
    CHECK((u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b'));
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
  CHECK_FALSE(is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afa"));
  CHECK_FALSE(is_uuid("3fa85f64x5717-4562-b3fc-2c963f66afa6"));
  CHECK(is_uuid("3FA85F64-5717-4562-B3FC-2C963F66AFA6"));
}

TEST_CASE("enum names round-trip", "[types]") {
  for (auto r : {Role::kUser, Role::kAssistant, Role::kAgent, Role::kSystem}) CHECK(parse_role(to_string(r)) == r);
  for (auto s : {MessageStatus::kSent, MessageStatus::kRead, MessageStatus::kStreaming, MessageStatus::kComplete,
                 MessageStatus::kFailed})
    CHECK(parse_message_status(to_string(s)) == s);
  for (auto k : {ConversationKind::kSession, ConversationKind::kSupport, ConversationKind::kCoach,
                 ConversationKind::kQuote})
    CHECK(parse_conversation_kind(to_string(k)) == k);
  CHECK_FALSE(parse_role("USER").has_value());
  CHECK_FALSE(parse_role("").has_value());
  CHECK(parse_principal_role("admin") == PrincipalRole::kAdmin);
}

TEST_CASE("error codes have stable names", "[result]") {
  CHECK(to_string(ErrorCode::kNotFound) == "not_found");
  CHECK(to_string(ErrorCode::kInvalidArgument) == "invalid_argument");
  Result<int> r = Error::invalid("content", "content is required");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().field == "content");
  Result<int> v = 3;
  CHECK(*v == 3);
  Status s;
  CHECK(s.ok());
}

TEST_CASE("metadata must be a JSON object within its size", "[json]") {
  using detail::normalize_json_object;
  CHECK(normalize_json_object("", "metadata", 100).value() == "{}");
  CHECK(normalize_json_object(R"({ "a" : 1 })", "metadata", 100).value() == R"({"a":1})");
  auto not_object = normalize_json_object("[1]", "metadata", 100);
  REQUIRE_FALSE(not_object.ok());
  CHECK(not_object.error().code == ErrorCode::kInvalidArgument);
  CHECK(not_object.error().field == "metadata");
  CHECK_FALSE(normalize_json_object("{bad", "metadata", 100).ok());
  CHECK_FALSE(normalize_json_object(R"({"a":")" + std::string(200, 'x') + R"("})", "metadata", 100).ok());
}

TEST_CASE("echo provider replies to the last user turn and streams words", "[llm]") {
  auto echo = make_echo_provider();
  CompletionRequest req;
  req.messages = {{Role::kSystem, "be nice"}, {Role::kUser, "first"}, {Role::kAssistant, "x"},
                  {Role::kUser, "hello big  world"}};
  auto whole = echo->complete(req);
  REQUIRE(whole.ok());
  CHECK(whole->content == "Echo: hello big  world");
  std::vector<std::string> chunks;
  auto streamed = echo->stream(req, [&](std::string_view c) {
    chunks.emplace_back(c);
    return true;
  });
  REQUIRE(streamed.ok());
  CHECK(chunks == std::vector<std::string>{"Echo:", " hello", " big", "  world"});
  CHECK(streamed->content == whole->content);
  CHECK(streamed->finish_reason == "stop");

  int seen = 0;
  auto cancelled = echo->stream(req, [&](std::string_view) { return ++seen < 2; });
  REQUIRE(cancelled.ok());
  CHECK(cancelled->finish_reason == "cancelled");
  CHECK(cancelled->content == "Echo:");
}
