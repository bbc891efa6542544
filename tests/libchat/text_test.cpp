// chat/text.hpp: the blank, case-folding and filter-text rules every layer shares.
#include <catch2/catch.hpp>

#include <string>

#include "chat/text.hpp"

using namespace std::string_literals;

TEST_CASE("text: blank means Unicode White_Space, not ASCII blank", "[text]") {
  CHECK(chat::is_blank(""));
  CHECK(chat::is_blank(" \t\r\n"));
  // The inputs of issue 10: each alone is blank.
  for (const char* s : {"\u00a0", "\u3000", "\u2003", "\u2028", "\u2029", "\u0085", "\v", "\f", "\u1680",
                        "\u202f", "\u205f", "\u2000\u200a"})
    CHECK(chat::is_blank(s));
  CHECK(chat::is_blank(" \u00a0\t\u3000 "));
  // Not White_Space: zero-width space and joiner, BOM, NUL, other controls.
  for (const char* s : {"\u200b", "\u200d", "\ufeff", "x", " x ", "\u00a0a"}) CHECK_FALSE(chat::is_blank(s));
  CHECK_FALSE(chat::is_blank("\0"s));
  CHECK_FALSE(chat::is_blank("\x01"));
  CHECK_FALSE(chat::is_blank("\xC2"));  // not UTF-8: not blank (invalid instead)
  CHECK(chat::is_white_space(U'\u00a0'));
  CHECK(chat::is_white_space(U'\u0085'));
  CHECK_FALSE(chat::is_white_space(U'\u180e'));  // Mongolian vowel separator: no longer White_Space
  CHECK_FALSE(chat::is_white_space(U'\u200b'));
}

TEST_CASE("text: fold_case is full Unicode case folding plus NFC", "[text]") {
  CHECK(chat::fold_case("Hello") == "hello");
  CHECK(chat::fold_case("Über die Straße") == "über die strasse");
  CHECK(chat::fold_case("STRASSE") == chat::fold_case("Straße"));
  CHECK(chat::fold_case("ÄRZTIN") == chat::fold_case("ärztin"));
  CHECK(chat::fold_case("ПРИВЕТ") == "привет");
  CHECK(chat::fold_case("ΣΊΣΥΦΟΣ") == chat::fold_case("σίσυφος"));  // final sigma too
  CHECK(chat::fold_case("ÉCOLE") == "école");
  // Precomposed and decomposed forms fold alike (NFC).
  CHECK(chat::fold_case("U\u0308ber") == chat::fold_case("\u00dcber"));
  CHECK(chat::fold_case("") == "");
  CHECK(chat::fold_case("a\0b"s) == "a\0b"s);  // a NUL is a character, not the end
  CHECK(chat::fold_case("\xFF" "A") == "\uFFFD" "a");  // broken bytes become U+FFFD
  CHECK(chat::is_valid_utf8(chat::fold_case("\xE2\x82")));
}

TEST_CASE("text: search and filter text refuse control characters, naming the field", "[text]") {
  CHECK(chat::check_filter_text("search", "").ok());
  CHECK(chat::check_filter_text("search", "über 100% _sure_ \"quoted\" *").ok());
  CHECK(chat::check_filter_text("search", "tab\tnew\nline\r").ok());
  for (const std::string& bad : {"beta\0"s, "\0"s, "a\x01"s, "\x1f"s, "\x7f"s, "\x0b"s, "\x0c"s}) {
    auto st = chat::check_filter_text("search", bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == chat::ErrorCode::kInvalidArgument);
    CHECK(st.error().field == "search");
    CHECK(st.error().message.find("control characters") != std::string::npos);
  }
  CHECK(chat::check_filter_text("query", "\xFF").error().field == "query");
  CHECK(chat::check_filter_text("query", std::string(chat::kMaxFilterTextBytes, 'a')).ok());
  CHECK(chat::check_filter_text("query", std::string(chat::kMaxFilterTextBytes + 1, 'a')).error().field == "query");
}
