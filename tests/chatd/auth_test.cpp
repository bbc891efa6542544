#include <jwt.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "auth.hpp"

using chat::ErrorCode;
using chat::PrincipalRole;
using chatd::JwtTokens;

namespace {

const std::string kSecret = "test-secret-0123456789";
const chat::Timestamp kNow = chat::from_millis(1'800'000'000'000);  // 2027-01-15
const long kNowS = 1'800'000'000;

std::string hs(const std::string& key, const std::string& data, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// A token built by hand: any header, any claims, HMAC-SHA256 (or none) over them.
std::string forge(const nlohmann::json& header, const nlohmann::json& claims, const std::string& key = kSecret,
                  bool sign = true, const EVP_MD* md = EVP_sha256()) {
  std::string input = chatd::base64url_encode(header.dump()) + "." + chatd::base64url_encode(claims.dump());
  return input + "." + (sign ? chatd::base64url_encode(hs(key, input, md)) : std::string());
}

nlohmann::json hs256() { return {{"alg", "HS256"}, {"typ", "JWT"}}; }
nlohmann::json claims(const std::string& sub = "7", long exp = kNowS + 60) {
  return {{"sub", sub}, {"exp", exp}, {"iat", kNowS}};
}

struct Fixture {
  std::shared_ptr<chat::ManualClock> clock = std::make_shared<chat::ManualClock>(kNow);
  JwtTokens tokens{kSecret, clock};

  chat::Error rejected(const std::string& token) {
    auto r = tokens.verify(token);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kUnauthenticated);
    return r.error();
  }
};

}  // namespace

TEST_CASE("auth: base64url round trip", "[chatd][auth]") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    auto enc = chatd::base64url_encode(s);
    CHECK(enc.find_first_of("+/=") == std::string::npos);
    auto dec = chatd::base64url_decode(enc);
    REQUIRE(dec);
    CHECK(*dec == s);
  }
  CHECK_FALSE(chatd::base64url_decode("a"));
  CHECK_FALSE(chatd::base64url_decode("ab+c"));
  CHECK_FALSE(chatd::base64url_decode("abc="));
}

TEST_CASE_METHOD(Fixture, "auth: issued tokens verify, with claims sub, role, iat, exp", "[chatd][auth]") {
  for (auto role : {PrincipalRole::kUser, PrincipalRole::kAgent, PrincipalRole::kAdmin}) {
    auto t = tokens.issue(chat::Principal{"42", role}, std::chrono::seconds(3600));
    REQUIRE(t.ok());
    auto who = tokens.verify(*t);
    REQUIRE(who.ok());
    CHECK(who->user_id == "42");
    CHECK(who->role == role);

    // The claims on the wire.
    auto dot1 = t->find('.');
    auto dot2 = t->find('.', dot1 + 1);
    auto header = nlohmann::json::parse(*chatd::base64url_decode(t->substr(0, dot1)));
    auto payload = nlohmann::json::parse(*chatd::base64url_decode(t->substr(dot1 + 1, dot2 - dot1 - 1)));
    CHECK(header["alg"] == "HS256");
    CHECK(payload["sub"] == "42");
    CHECK(payload["role"] == std::string(chat::to_string(role)));
    CHECK(payload["iat"] == kNowS);
    CHECK(payload["exp"] == kNowS + 3600);
  }
  CHECK_FALSE(tokens.issue(chat::Principal::anonymous(), std::chrono::seconds(60)).ok());
  CHECK_FALSE(tokens.issue(chat::Principal{"", PrincipalRole::kUser}, std::chrono::seconds(60)).ok());
}

TEST_CASE_METHOD(Fixture, "auth: a hand-built HS256 token verifies and role defaults to user", "[chatd][auth]") {
  auto who = tokens.verify(forge(hs256(), claims("1")));
  REQUIRE(who.ok());
  CHECK(who->user_id == "1");
  CHECK(who->role == PrincipalRole::kUser);
  // No typ header is fine; a floating exp is a NumericDate too.
  auto c = claims("2");
  c["exp"] = kNowS + 0.5;
  CHECK(tokens.verify(forge({{"alg", "HS256"}}, c)).ok());
}

TEST_CASE_METHOD(Fixture, "auth: expiry by the injected clock", "[chatd][auth]") {
  auto t = tokens.issue(chat::Principal::user("u"), std::chrono::seconds(10));
  REQUIRE(t.ok());
  clock->advance(std::chrono::milliseconds(9999));
  CHECK(tokens.verify(*t).ok());
  clock->advance(std::chrono::milliseconds(1));  // now == exp: expired
  CHECK_THAT(rejected(*t).message, Catch::Contains("expired"));
  CHECK_THAT(rejected(forge(hs256(), claims("1", kNowS - 1))).message, Catch::Contains("expired"));
}

TEST_CASE_METHOD(Fixture, "auth: nbf in the future is refused", "[chatd][auth]") {
  auto c = claims();
  c["nbf"] = kNowS + 30;
  CHECK_THAT(rejected(forge(hs256(), c)).message, Catch::Contains("not valid yet"));
  c["nbf"] = kNowS - 30;
  CHECK(tokens.verify(forge(hs256(), c)).ok());
}

TEST_CASE_METHOD(Fixture, "auth: alg none is refused, signed or not", "[chatd][auth]") {
  const nlohmann::json none = {{"alg", "none"}, {"typ", "JWT"}};
  CHECK_THAT(rejected(forge(none, claims(), kSecret, /*sign=*/false)).message, Catch::Contains("HS256"));
  CHECK_THAT(rejected(forge(none, claims())).message, Catch::Contains("HS256"));
  CHECK_THAT(rejected(forge({{"alg", "None"}}, claims(), kSecret, false)).message, Catch::Contains("HS256"));
  // Header without alg, alg not a string.
  rejected(forge({{"typ", "JWT"}}, claims()));
  rejected(forge({{"alg", 256}}, claims()));
}

TEST_CASE_METHOD(Fixture, "auth: other algorithms are refused even with a valid signature", "[chatd][auth]") {
  // HS512 signed with the right secret, by libjwt.
  jwt_t* j = nullptr;
  REQUIRE(jwt_new(&j) == 0);
  jwt_add_grant(j, "sub", "1");
  jwt_add_grant_int(j, "exp", kNowS + 60);
  jwt_set_alg(j, JWT_ALG_HS512, reinterpret_cast<const unsigned char*>(kSecret.data()),
              static_cast<int>(kSecret.size()));
  char* enc = jwt_encode_str(j);
  REQUIRE(enc != nullptr);
  std::string hs512(enc);
  std::free(enc);  // NOLINT
  jwt_free(j);
  CHECK_THAT(rejected(hs512).message, Catch::Contains("HS256"));

  // HS384 by hand, and RS256 / ES256 headers carrying an HMAC (algorithm confusion).
  rejected(forge({{"alg", "HS384"}}, claims(), kSecret, true, EVP_sha384()));
  CHECK_THAT(rejected(forge({{"alg", "RS256"}, {"typ", "JWT"}}, claims())).message, Catch::Contains("HS256"));
  rejected(forge({{"alg", "ES256"}}, claims()));
  rejected(forge({{"alg", "hs256"}}, claims()));
}

TEST_CASE_METHOD(Fixture, "auth: wrong secret and tampering", "[chatd][auth]") {
  CHECK_THAT(rejected(forge(hs256(), claims(), "another-secret")).message, Catch::Contains("signature"));
  JwtTokens other("another-secret", clock);
  auto t = other.issue(chat::Principal::admin("1"), std::chrono::seconds(60));
  REQUIRE(t.ok());
  rejected(*t);
  // Same signature, payload changed to another user.
  auto good = forge(hs256(), claims("1"));
  auto bad_payload = forge(hs256(), claims("2"));
  auto dot2 = good.rfind('.');
  auto tampered = bad_payload.substr(0, bad_payload.rfind('.')) + good.substr(dot2);
  CHECK_THAT(rejected(tampered).message, Catch::Contains("signature"));
}

TEST_CASE_METHOD(Fixture, "auth: required claims", "[chatd][auth]") {
  auto c = claims();
  c.erase("sub");
  CHECK_THAT(rejected(forge(hs256(), c)).message, Catch::Contains("sub"));
  CHECK_THAT(rejected(forge(hs256(), claims(""))).message, Catch::Contains("sub"));
  c = claims();
  c["sub"] = 1;  // user ids travel as strings
  CHECK_THAT(rejected(forge(hs256(), c)).message, Catch::Contains("sub"));
  c = claims();
  c.erase("exp");
  CHECK_THAT(rejected(forge(hs256(), c)).message, Catch::Contains("exp"));
  c = claims();
  c["exp"] = std::to_string(kNowS + 60);
  CHECK_THAT(rejected(forge(hs256(), c)).message, Catch::Contains("exp"));
}

TEST_CASE_METHOD(Fixture, "auth: roles", "[chatd][auth]") {
  auto with_role = [&](const nlohmann::json& role) {
    auto c = claims();
    c["role"] = role;
    return forge(hs256(), c);
  };
  CHECK(tokens.verify(with_role("admin"))->role == PrincipalRole::kAdmin);
  CHECK(tokens.verify(with_role("agent"))->role == PrincipalRole::kAgent);
  CHECK(tokens.verify(with_role("user"))->role == PrincipalRole::kUser);
  CHECK_THAT(rejected(with_role("superuser")).message, Catch::Contains("role"));
  rejected(with_role("anonymous"));
  rejected(with_role(""));
  rejected(with_role(3));
  rejected(with_role(nlohmann::json::array({"admin"})));

  using chatd::role_at_least;
  CHECK(role_at_least(PrincipalRole::kAdmin, PrincipalRole::kAgent));
  CHECK(role_at_least(PrincipalRole::kAgent, PrincipalRole::kAgent));
  CHECK_FALSE(role_at_least(PrincipalRole::kUser, PrincipalRole::kAgent));
  CHECK_FALSE(role_at_least(PrincipalRole::kAnonymous, PrincipalRole::kUser));
}

TEST_CASE_METHOD(Fixture, "auth: garbage", "[chatd][auth]") {
  for (std::string g : {"", "x", "a.b", "a.b.c.d", "..", "a..c", ".b.c", "a.b.", "not a token at all",
                        "eyJhbGciOiJIUzI1NiJ9.!!!.sig", "e30.e30.c2ln", "W10.e30.c2ln"}) {
    INFO(g);
    rejected(g);
  }
  // Header and payload that are JSON but not objects, or not JSON.
  rejected(chatd::base64url_encode("[1]") + "." + chatd::base64url_encode("{}") + ".c2ln");
  rejected(chatd::base64url_encode(R"({"alg":"HS256"})") + "." + chatd::base64url_encode("nope") + ".c2ln");
  rejected(std::string(10000, 'a') + ".b.c");
  // An empty secret verifies nothing.
  JwtTokens empty("", clock);
  CHECK_FALSE(empty.verify(forge(hs256(), claims(), "")).ok());
}

TEST_CASE("auth: Bearer parsing", "[chatd][auth]") {
  using chatd::parse_bearer;
  CHECK(parse_bearer("Bearer abc.def.ghi") == std::optional<std::string_view>("abc.def.ghi"));
  CHECK(parse_bearer("bearer tok") == std::optional<std::string_view>("tok"));
  CHECK(parse_bearer("BEARER tok") == std::optional<std::string_view>("tok"));
  CHECK(parse_bearer("  Bearer   tok  ") == std::optional<std::string_view>("tok"));
  CHECK(parse_bearer("Bearer\ttok") == std::optional<std::string_view>("tok"));
  CHECK_FALSE(parse_bearer(""));
  CHECK_FALSE(parse_bearer("Bearer"));
  CHECK_FALSE(parse_bearer("Bearer "));
  CHECK_FALSE(parse_bearer("Bearertok"));
  CHECK_FALSE(parse_bearer("Basic dXNlcjpwYXNz"));
  CHECK_FALSE(parse_bearer("Token tok"));
  CHECK_FALSE(parse_bearer("Bearer a b"));
}
