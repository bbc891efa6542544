#include "error_style.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "http_errors.hpp"
#include "http_json.hpp"

namespace chatd {

namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "content is required" starts with the word "content"; "content_type ..." does not.
bool starts_with_word(std::string_view text, std::string_view word) {
  if (text.substr(0, word.size()) != word) return false;
  return text.size() == word.size() || !word_char(text[word.size()]);
}

}  // namespace

StyledError restyle(const ErrorStyle& style, chat::Error e) {
  for (const auto& [from, to] : style.renames) {
    if (e.field != from) continue;
    e.field = std::string(to);
    if (starts_with_word(e.message, from)) e.message = std::string(to) + e.message.substr(from.size());
    break;
  }
  std::string code;
  if (style.rewrite != nullptr) code = style.rewrite(e);
  return StyledError{std::move(e), std::move(code)};
}

void render_error(httplib::Response& res, const ErrorStyle& style, chat::Error e) {
  auto styled = restyle(style, std::move(e));
  render_error(res, styled.error);  // status, headers and the shared body...
  if (styled.code.empty()) return;
  nlohmann::json body = nlohmann::json::parse(res.body, nullptr, false);
  if (!body.is_object()) return;
  body["code"] = styled.code;  // ...plus the seed's detailed code
  render_json(res, res.status, body);
}

}  // namespace chatd
