#include "json_text.hpp"

#include <nlohmann/json.hpp>

namespace chat::detail {

namespace {

Result<std::string> normalize(std::string_view text, std::string_view field, std::size_t max_bytes,
                              bool want_object) {
  const char* empty = want_object ? "{}" : "[]";
  const char* what = want_object ? "a JSON object" : "a JSON array";
  if (text.empty()) return std::string(empty);
  if (text.size() > max_bytes)
    return Error::invalid(std::string(field),
                          std::string(field) + " is larger than " + std::to_string(max_bytes) + " bytes");
  // The empty value, the default of every metadata field, is already in
  // normal form: it skips the parser (it is on the path of every post).
  if (text == empty) return std::string(empty);
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error::invalid(std::string(field), std::string(field) + " is not valid JSON");
  if (want_object ? !parsed.is_object() : !parsed.is_array())
    return Error::invalid(std::string(field), std::string(field) + " must be " + what);
  // Invalid UTF-8 inside strings makes dump() throw; replace keeps the
  // stored text valid without refusing the whole value.
  return parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<std::string> normalize_json_object(std::string_view text, std::string_view field, std::size_t max_bytes) {
  return normalize(text, field, max_bytes, true);
}

Result<std::string> normalize_json_array(std::string_view text, std::string_view field, std::size_t max_bytes) {
  return normalize(text, field, max_bytes, false);
}

}  // namespace chat::detail
