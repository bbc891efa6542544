#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "auth.hpp"
#include "secret.hpp"
#include "token_command.hpp"

using chat::ErrorCode;
using nlohmann::json;

TEST_CASE("errors: one status per error code", "[chatd][http]") {
  const std::vector<std::pair<ErrorCode, int>> table = {
      {ErrorCode::kNotFound, 404},          {ErrorCode::kInvalidArgument, 400},   {ErrorCode::kConflict, 409},
      {ErrorCode::kUnauthenticated, 401},   {ErrorCode::kPermissionDenied, 403},  {ErrorCode::kGone, 410},
      {ErrorCode::kUnavailable, 503},       {ErrorCode::kDeadlineExceeded, 504},  {ErrorCode::kUpstream, 502},
      {ErrorCode::kResourceExhausted, 429}, {ErrorCode::kInternal, 500},
  };
  REQUIRE(table.size() == 11);  // every ErrorCode
  for (auto [code, status] : table) {
    INFO(chat::to_string(code));
    CHECK(chatd::http_status(code) == status);
    httplib::Response res;
    chatd::render_error(res, chat::Error{code, "boom", {}});
    CHECK(res.status == status);
    CHECK(res.get_header_value("Content-Type") == "application/json");
    auto body = json::parse(res.body);
    CHECK(body["success"] == false);
    CHECK(body["error"]["code"] == std::string(chat::to_string(code)));
    if (code == ErrorCode::kInternal) {
      CHECK(body["message"] == "internal error");  // details stay in the log
    } else {
      CHECK(body["message"] == "boom");
      CHECK(body["error"]["message"] == "boom");
    }
    CHECK_FALSE(body["error"].contains("field"));
    CHECK(res.has_header("WWW-Authenticate") == (status == 401));
    CHECK(res.has_header("Retry-After") == (status == 429 || status == 503));
  }
}

TEST_CASE("errors: the field of an invalid argument is in the body", "[chatd][http]") {
  httplib::Response res;
  chatd::render_error(res, chat::Error::invalid("content", "content: required"));
  auto body = json::parse(res.body);
  CHECK(res.status == 400);
  CHECK(body["error"]["field"] == "content");
  CHECK(body["error"]["code"] == "invalid_argument");
  CHECK(body["message"] == "content: required");
}

TEST_CASE("errors: invalid UTF-8 in a message does not throw", "[chatd][http]") {
  auto text = chatd::error_body("invalid_argument", "bad \xff\xfe value", "x");
  CHECK_NOTHROW(json::parse(text));
}

TEST_CASE("json helpers: parsing a body", "[chatd][http]") {
  CHECK(chatd::parse_json_object(R"({"a": 1})").ok());
  CHECK(chatd::parse_json_object("", chatd::EmptyBody::kAsEmptyObject)->empty());
  auto empty = chatd::parse_json_object("  ");
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.error().message, Catch::Contains("empty"));
  auto bad = chatd::parse_json_object(R"({"a": )");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  CHECK_THAT(bad.error().message, Catch::StartsWith("invalid JSON body"));
  CHECK_THAT(chatd::parse_json_object("[1,2]").error().message, Catch::Contains("must be an object"));
  CHECK_THAT(chatd::parse_json_object("\"s\"").error().message, Catch::Contains("must be an object"));
  // Deep nesting is refused before parsing; brackets inside strings do not count.
  CHECK_THAT(chatd::parse_json_object("{\"a\":" + std::string(100000, '[')).error().message,
             Catch::Contains("nested deeper"));
  CHECK(chatd::parse_json_object(R"({"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})")
            .ok());
}

TEST_CASE("json helpers: typed fields name the field", "[chatd][http]") {
  auto obj = json::parse(R"({"s": "x", "blank": " ", "n": 5, "big": 18446744073709551615, "f": 1.5, "b": true,
                             "o": {"k": [1]}, "a": [1, "two"], "nul": null})");
  CHECK(*chatd::required_string(obj, "s") == "x");
  CHECK(chatd::required_string(obj, "missing").error().field == "missing");
  CHECK(chatd::required_string(obj, "missing").error().message == "missing: required");
  CHECK(chatd::required_string(obj, "nul").error().message == "nul: required");
  CHECK(chatd::required_string(obj, "n").error().message == "n: must be a string");
  CHECK(chatd::required_nonempty_string(obj, "blank").error().message == "blank: must not be empty");
  CHECK(!chatd::optional_string(obj, "missing")->has_value());
  CHECK(!chatd::optional_string(obj, "nul")->has_value());
  CHECK(chatd::optional_string(obj, "b").error().field == "b");
  CHECK(chatd::optional_bool(obj, "b")->value() == true);
  CHECK(chatd::optional_bool(obj, "s").error().message == "s: must be a boolean");
  CHECK(chatd::optional_int64(obj, "n")->value() == 5);
  CHECK(chatd::optional_int64(obj, "f").error().message == "f: must be an integer");
  CHECK(chatd::optional_int64(obj, "s").error().field == "s");
  CHECK(chatd::optional_int64(obj, "big").error().message == "big: out of range");
  CHECK(chatd::optional_number(obj, "f")->value() == 1.5);
  CHECK(chatd::optional_number(obj, "n")->value() == 5.0);
  CHECK(chatd::optional_number(obj, "s").error().field == "s");
  CHECK(chatd::optional_object(obj, "o")->value() == R"({"k":[1]})");
  CHECK(chatd::optional_object(obj, "a").error().message == "a: must be an object");
  CHECK(chatd::optional_array(obj, "a")->value() == R"([1,"two"])");
  CHECK(chatd::optional_array(obj, "o").error().field == "o");
}

TEST_CASE("json helpers: query parameters", "[chatd][http]") {
  httplib::Request req;
  req.params = {{"limit", "20"}, {"neg", "-3"}, {"bad", "2x"}, {"empty", ""}, {"t", "TRUE"}, {"one", "1"},
                {"zero", "0"}, {"no", "False"}, {"maybe", "yes"}, {"q", "hello"}};
  CHECK(*chatd::query_int64(req, "limit", 50, 1, 100) == 20);
  CHECK(*chatd::query_int64(req, "absent", 50, 1, 100) == 50);
  CHECK(*chatd::query_int64(req, "empty", 50, 1, 100) == 50);
  CHECK(chatd::query_int64(req, "neg", -10, 10)->value() == -3);
  auto out_of_range = chatd::query_int64(req, "limit", 1, 10);
  CHECK(out_of_range.error().field == "limit");
  CHECK(out_of_range.error().message == "limit: must be an integer between 1 and 10");
  CHECK(chatd::query_int64(req, "bad", 0, 100).error().field == "bad");
  CHECK(chatd::query_bool(req, "t")->value() == true);
  CHECK(chatd::query_bool(req, "one")->value() == true);
  CHECK(chatd::query_bool(req, "zero")->value() == false);
  CHECK(chatd::query_bool(req, "no")->value() == false);
  CHECK(!chatd::query_bool(req, "absent")->has_value());
  CHECK(chatd::query_bool(req, "maybe").error().message == "maybe: must be true, false, 1 or 0");
  CHECK(chatd::query_string(req, "q")->value() == "hello");
}

TEST_CASE("json helpers: parse_int64 for path ids", "[chatd][http]") {
  CHECK(chatd::parse_int64("12") == std::optional<std::int64_t>(12));
  CHECK(chatd::parse_int64("-3") == std::optional<std::int64_t>(-3));
  CHECK(chatd::parse_int64("9223372036854775807") == std::optional<std::int64_t>(INT64_MAX));
  for (const char* bad : {"", "+1", " 1", "1 ", "12abc", "1e3", "0x10", "9223372036854775808", "abc"}) {
    INFO(bad);
    CHECK_FALSE(chatd::parse_int64(bad));
  }
}

TEST_CASE("json helpers: render_json and json_from_text", "[chatd][http]") {
  httplib::Response res;
  chatd::render_json(res, 201, json{{"id", 1}, {"name", "bad \xff"}});
  CHECK(res.status == 201);
  CHECK(res.get_header_value("Content-Type") == "application/json");
  CHECK(json::parse(res.body)["id"] == 1);
  chatd::render_json(res, 200, json::object());
  CHECK(res.get_header_value_count("Content-Type") == 1);
  CHECK(chatd::json_from_text(R"({"a":1})")["a"] == 1);
  CHECK(chatd::json_from_text("not json") == "not json");
}

TEST_CASE("secret: created with mode 0600 beside the database and reused", "[chatd]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("chatd-secret-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "chat.db").string();

  auto first = chatd::resolve_jwt_secret("", db);
  REQUIRE(first.ok());
  CHECK(first->created);
  CHECK(first->path == db + ".jwt-secret");
  CHECK(first->secret.size() == 64);
  CHECK(first->secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  struct stat st {};
  REQUIRE(::stat(first->path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto second = chatd::resolve_jwt_secret("", db);
  REQUIRE(second.ok());
  CHECK_FALSE(second->created);
  CHECK(second->secret == first->secret);

  SECTION("a configured secret wins and touches no file") {
    const std::string given = "configured-secret-0123456789abcdef";
    auto c = chatd::resolve_jwt_secret(given, (dir / "other.db").string());
    REQUIRE(c.ok());
    CHECK(c->secret == given);
    CHECK(c->from_config);
    CHECK_FALSE(fs::exists(dir / "other.db.jwt-secret"));
  }
  SECTION(":memory: is ephemeral and different every time") {
    auto a = chatd::resolve_jwt_secret("", ":memory:");
    auto b = chatd::resolve_jwt_secret("", ":memory:");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->ephemeral);
    CHECK(a->path.empty());
    CHECK(a->secret != b->secret);
  }
  SECTION("an empty secret file is an error, not an empty secret") {
    std::ofstream((dir / "empty.db.jwt-secret").string()).close();
    ::chmod((dir / "empty.db.jwt-secret").c_str(), 0600);
    auto e = chatd::resolve_jwt_secret("", (dir / "empty.db").string());
    REQUIRE_FALSE(e.ok());
    CHECK_THAT(e.error().message, Catch::Contains("empty"));
  }
  SECTION("an unwritable directory is an error") {
    auto e = chatd::resolve_jwt_secret("", "/nonexistent-dir-chatd/chat.db");
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().code == ErrorCode::kUnavailable);
  }
  fs::remove_all(dir);
}

TEST_CASE("token command: signs with the secret the server will use", "[chatd][auth]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("chatd-token-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  chatd::Config config;
  config.db = (dir / "chat.db").string();
  chatd::TokenRequest request;
  request.sub = "12";
  request.role = chat::PrincipalRole::kAgent;
  request.ttl = std::chrono::seconds(120);
  auto clock = std::make_shared<chat::ManualClock>(chat::from_millis(1'800'000'000'000));

  auto issued = chatd::issue_token(config, request, clock);
  REQUIRE(issued.ok());
  CHECK(issued->created_secret_file == config.db + ".jwt-secret");
  // The server resolves the same secret and accepts the token.
  auto secret = chatd::resolve_jwt_secret("", config.db);
  REQUIRE(secret.ok());
  CHECK_FALSE(secret->created);
  chatd::JwtTokens server_side(secret->secret, clock);
  auto who = server_side.verify(issued->token);
  REQUIRE(who.ok());
  CHECK(who->user_id == "12");
  CHECK(who->role == chat::PrincipalRole::kAgent);
  clock->advance(std::chrono::seconds(120));
  CHECK_FALSE(server_side.verify(issued->token).ok());

  // A second token reuses the file; an explicit secret wins.
  auto again = chatd::issue_token(config, request, clock);
  REQUIRE(again.ok());
  CHECK(again->created_secret_file.empty());
  config.jwt_secret = "explicit-secret-of-at-least-32-bytes";
  auto explicit_token = chatd::issue_token(config, request, clock);
  REQUIRE(explicit_token.ok());
  CHECK(chatd::JwtTokens(config.jwt_secret, clock).verify(explicit_token->token).ok());

  chatd::Config memory;
  memory.db = ":memory:";
  auto refused = chatd::issue_token(memory, request, clock);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == chat::ErrorCode::kInvalidArgument);
  fs::remove_all(dir);
}
