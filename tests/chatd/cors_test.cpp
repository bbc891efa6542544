// CORS (cors.hpp): --cors-origins parsing, the policy's grants, and the
// headers of preflights and answers (errors and connection refusals
// included) on a live server.
#include "cors.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>

#include "config.hpp"
#include "live_server.hpp"
#include "raw_http.hpp"

using chatd::Access;
using chatd::CorsPolicy;
using chatd_test::LiveOptions;
using chatd_test::LiveServer;

namespace {

constexpr const char* kLanding = "https://landing.example";

httplib::Result request(const LiveServer& s, const std::string& method, const std::string& path,
                        httplib::Headers headers, const std::string& body = {}) {
  auto c = s.client();
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = std::move(headers);
  if (!body.empty()) {
    req.body = body;
    req.set_header("Content-Type", "application/json");
  }
  return c.send(req);
}

bool has_cors_header(const httplib::Headers& h) {
  for (const auto& [k, v] : h) {
    if (k.rfind("Access-Control-", 0) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the cors-origins flag takes exact origins or the wildcard, normalized", "[chatd][cors][config]") {
  auto ok = chatd::parse_cors_origins(" https://Landing.Example , http://localhost:5173,* ");
  REQUIRE(ok.ok());
  CHECK(*ok == std::vector<std::string>{"https://landing.example", "http://localhost:5173", "*"});
  CHECK(chatd::parse_cors_origins("")->empty());
  CHECK(chatd::parse_cors_origins("http://[::1]:8080").ok());

  for (const char* bad : {"https://a.example/", "https://a.example/path", "a.example", "ftp://a.example",
                          "https://a.example:443", "http://a.example:80", "null", "https://a.example,,https://b.example",
                          "https://a.example,https://A.example", "https://user@a.example", "https://a.example:x",
                          "https://"}) {
    INFO(bad);
    auto r = chatd::parse_cors_origins(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kInvalidArgument);
  }

  auto inv = chatd::parse_command_line({"--cors-origins", "https://a.example/"}, {});
  REQUIRE_FALSE(inv.ok());
  CHECK(inv.error().message.rfind("--cors-origins: 'https://a.example/' has a path", 0) == 0);
  auto env = chatd::parse_command_line({}, {{"CHATD_CORS_ORIGINS", "https://a.example, *"}});
  REQUIRE(env.ok());
  CHECK(env->config.cors_origins == std::vector<std::string>{"https://a.example", "*"});
  CHECK(chatd::parse_command_line({}, {})->config.cors_origins.empty());
  CHECK(chatd::usage_text().find("--cors-origins") != std::string::npos);
}

TEST_CASE("the CORS policy grants listed origins everywhere and the wildcard on anonymous routes only", "[chatd][cors]") {
  const CorsPolicy none;
  CHECK_FALSE(none.enabled());
  CHECK(none.grant(kLanding, Access::kPublic) == CorsPolicy::Grant::kNone);

  const CorsPolicy exact({kLanding});
  CHECK(exact.grant(kLanding, Access::kAdmin) == CorsPolicy::Grant::kExact);
  CHECK(exact.grant(kLanding, std::nullopt) == CorsPolicy::Grant::kExact);
  CHECK(exact.grant("https://landing.example.evil", Access::kPublic) == CorsPolicy::Grant::kNone);
  CHECK(exact.grant("http://landing.example", Access::kPublic) == CorsPolicy::Grant::kNone);
  CHECK(exact.grant("", Access::kPublic) == CorsPolicy::Grant::kNone);

  const CorsPolicy any({"*"});
  CHECK(any.grant("https://x.example", Access::kPublic) == CorsPolicy::Grant::kAny);
  CHECK(any.grant("https://x.example", Access::kOptional) == CorsPolicy::Grant::kAny);
  CHECK(any.grant("https://x.example", Access::kUser) == CorsPolicy::Grant::kNone);
  CHECK(any.grant("https://x.example", std::nullopt) == CorsPolicy::Grant::kNone);
  CHECK(any.grant("", Access::kPublic) == CorsPolicy::Grant::kNone);
}

TEST_CASE("a preflight from a listed origin gets the route's methods and headers", "[chatd][cors][live]") {
  LiveOptions o;
  o.cors_origins = {kLanding};
  LiveServer s(o);

  auto r = request(s, "OPTIONS", "/api/chats/sessions/",
                   {{"Origin", kLanding},
                    {"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "content-type, authorization"}});
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->get_header_value("Access-Control-Allow-Origin") == kLanding);
  CHECK(r->get_header_value("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS, POST");
  CHECK(r->get_header_value("Access-Control-Allow-Headers") == "Authorization, Content-Type, Last-Event-ID");
  CHECK(r->get_header_value("Access-Control-Max-Age") == "600");
  CHECK(r->get_header_value("Vary") == "Origin");
  CHECK(r->get_header_value("Allow") == "GET, HEAD, OPTIONS, POST");
  CHECK_FALSE(r->has_header("Access-Control-Allow-Credentials"));

  // An authenticated API is open to a listed origin too.
  auto agents = request(s, "OPTIONS", "/api/agents/1/", {{"Origin", kLanding}, {"Access-Control-Request-Method", "GET"}});
  REQUIRE(agents);
  CHECK(agents->get_header_value("Access-Control-Allow-Origin") == kLanding);
  CHECK(agents->get_header_value("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS");

  SECTION("an origin not on the list gets a plain answer") {
    auto other = request(s, "OPTIONS", "/api/chats/sessions/",
                         {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
    REQUIRE(other);
    CHECK(other->status == 204);
    CHECK(other->get_header_value("Allow") == "GET, HEAD, OPTIONS, POST");
    CHECK_FALSE(has_cors_header(other->headers));
  }
  SECTION("an unknown path is a 404 that a listed origin may read") {
    auto missing = request(s, "OPTIONS", "/nope", {{"Origin", kLanding}, {"Access-Control-Request-Method", "GET"}});
    REQUIRE(missing);
    CHECK(missing->status == 404);
    CHECK(missing->get_header_value("Access-Control-Allow-Origin") == kLanding);
  }
}

TEST_CASE("answers to a listed origin carry CORS headers, errors included", "[chatd][cors][live]") {
  LiveOptions o;
  o.cors_origins = {kLanding};
  LiveServer s(o);
  const httplib::Headers from_landing{{"Origin", kLanding}};

  auto check_cors = [](const httplib::Result& r, int status) {
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(r->get_header_value("Access-Control-Allow-Origin") == kLanding);
    CHECK(r->get_header_value("Access-Control-Expose-Headers") == "Retry-After, WWW-Authenticate, Allow");
    CHECK(r->get_header_value("Vary") == "Origin");
    CHECK_FALSE(r->has_header("Access-Control-Allow-Credentials"));
  };
  check_cors(request(s, "POST", "/api/chats/sessions/", from_landing, R"({"title":"x"})"), 201);
  check_cors(request(s, "GET", "/chat/conversations", from_landing), 401);       // no token
  check_cors(request(s, "GET", "/no/such/path", from_landing), 404);             // unrouted
  check_cors(request(s, "PATCH", "/api/chats/sessions/", from_landing, "{}"), 405);
  check_cors(request(s, "POST", "/api/chats/sessions/", from_landing, "{not json"), 400);
  check_cors(request(s, "GET", "/healthz", from_landing), 200);

  // Another origin, or none: no CORS header, but Vary: Origin for caches.
  auto other = request(s, "GET", "/healthz", {{"Origin", "https://evil.example"}});
  REQUIRE(other);
  CHECK_FALSE(has_cors_header(other->headers));
  CHECK(other->get_header_value("Vary") == "Origin");
  auto none = request(s, "GET", "/healthz", {});
  REQUIRE(none);
  CHECK_FALSE(has_cors_header(none->headers));
}

TEST_CASE("the connection's refusals carry CORS headers for a listed origin", "[chatd][cors][live]") {
  LiveOptions o;
  o.cors_origins = {kLanding};
  o.max_body_bytes = 64;
  LiveServer s(o);
  // 413: the headers were read, the body is refused before routing.
  const std::string raw = std::string("POST /api/chats/sessions/ HTTP/1.1\r\nHost: x\r\nOrigin: ") + kLanding +
                          "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
  chatd_test::RawConnection c(s.port());
  REQUIRE(c.connected());
  c.send(raw);
  auto answer = c.read_response();
  REQUIRE(answer);
  CHECK(answer->status == 413);
  CHECK(answer->header("access-control-allow-origin") == kLanding);
  CHECK(answer->header("vary") == "Origin");
}

TEST_CASE("the wildcard origin opens the anonymous routes only, without Authorization", "[chatd][cors][live]") {
  LiveOptions o;
  o.cors_origins = {"*"};
  LiveServer s(o);
  const std::string page = "https://anywhere.example";

  auto pre = request(s, "OPTIONS", "/api/chats/messages/chat/stream/",
                     {{"Origin", page}, {"Access-Control-Request-Method", "POST"}});
  REQUIRE(pre);
  CHECK(pre->get_header_value("Access-Control-Allow-Origin") == "*");
  CHECK(pre->get_header_value("Access-Control-Allow-Headers") == "Content-Type, Last-Event-ID");
  CHECK(pre->get_header_value("Access-Control-Allow-Methods") == "OPTIONS, POST");

  auto created = request(s, "POST", "/api/chats/sessions/", {{"Origin", page}}, R"({"title":"x"})");
  REQUIRE(created);
  CHECK(created->status == 201);
  CHECK(created->get_header_value("Access-Control-Allow-Origin") == "*");
  CHECK_FALSE(created->has_header("Access-Control-Allow-Credentials"));

  // A route that needs a token is not opened by the wildcard.
  auto pre_user = request(s, "OPTIONS", "/chat/conversations", {{"Origin", page}, {"Access-Control-Request-Method", "GET"}});
  REQUIRE(pre_user);
  CHECK(pre_user->status == 204);
  CHECK_FALSE(has_cors_header(pre_user->headers));
  auto user = request(s, "GET", "/chat/conversations", {{"Origin", page}});
  REQUIRE(user);
  CHECK(user->status == 401);
  CHECK_FALSE(has_cors_header(user->headers));
}

TEST_CASE("without cors-origins no answer carries CORS or Vary headers", "[chatd][cors][live]") {
  LiveServer s;
  auto pre = request(s, "OPTIONS", "/api/chats/sessions/",
                     {{"Origin", kLanding}, {"Access-Control-Request-Method", "POST"}});
  REQUIRE(pre);
  CHECK(pre->status == 204);
  CHECK(pre->get_header_value("Allow") == "GET, HEAD, OPTIONS, POST");
  CHECK_FALSE(has_cors_header(pre->headers));
  CHECK_FALSE(pre->has_header("Vary"));
  auto get = request(s, "GET", "/healthz", {{"Origin", kLanding}});
  REQUIRE(get);
  CHECK_FALSE(has_cors_header(get->headers));
}
