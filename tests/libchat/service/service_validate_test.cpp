#include <catch2/catch.hpp>

#include "service/service_validate.hpp"

using namespace chat;
using namespace chat::detail;

TEST_CASE("validate: UTF-8 checks reject overlongs, surrogates and truncations", "[service]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xC3"));              // truncated
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("validate: sanitize_utf8 replaces only what is broken", "[service]") {
  CHECK(sanitize_utf8("ok \xC3\xA9") == "ok \xC3\xA9");
  CHECK(sanitize_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(sanitize_utf8("\xC3") == "\xEF\xBF\xBD");
  CHECK(is_valid_utf8(sanitize_utf8("\xE2\x82 x \xF0\x9F\x98")));
}

TEST_CASE("validate: handles, ids and pages", "[service]") {
  CHECK(is_valid_handle("sess_0123abc"));
  CHECK(is_valid_handle("quote:job-1.v2"));
  CHECK(is_valid_handle(std::string(128, 'a')));
  CHECK_FALSE(is_valid_handle(std::string(129, 'a')));
  CHECK_FALSE(is_valid_handle(""));
  CHECK_FALSE(is_valid_handle("white space"));
  CHECK_FALSE(is_valid_handle("slash/"));
  CHECK(parse_positive_id("42") == 42);
  CHECK_FALSE(parse_positive_id("0").has_value());
  CHECK_FALSE(parse_positive_id("-1").has_value());
  CHECK_FALSE(parse_positive_id("+1").has_value());
  CHECK_FALSE(parse_positive_id("12a").has_value());
  CHECK_FALSE(parse_positive_id("99999999999999999999").has_value());
  CHECK(check_page(1, 0, 10).ok());
  CHECK(check_page(10, 5, 10).ok());
  CHECK(check_page(0, 0, 10).error().field == "limit");
  CHECK(check_page(11, 0, 10).error().field == "limit");
  CHECK(check_page(5, -1, 10).error().field == "offset");
  CHECK(check_required_text("title", " \t", 10).error().field == "title");
  CHECK(check_non_negative("cost", -0.5).error().field == "cost");
  CHECK_FALSE(check_non_negative("cost", std::numeric_limits<double>::quiet_NaN()).ok());
  const auto h = generate_session_handle();
  CHECK(h.size() == 37);  // "sess_" + 32 hex: 128 bits
  CHECK(is_valid_handle(h));
  CHECK(h != generate_session_handle());
}
