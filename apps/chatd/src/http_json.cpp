#include "http_json.hpp"

#include <httplib.h>

#include <charconv>

#include "chat/text.hpp"

namespace chatd {

namespace {

using nlohmann::json;

chat::Error invalid(std::string_view field, std::string_view what) {
  std::string message(field);
  message += ": ";
  message += what;
  return chat::Error::invalid(std::string(field), std::move(message));
}

chat::Error body_error(std::string message) { return chat::Error::invalid({}, std::move(message)); }

// Depth of [ and { outside strings; stops early past the limit.
bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// The field's value, or nullptr when absent or null.
const json* field_of(const json& obj, std::string_view field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

chat::Result<json> parse_json_object(std::string_view body, EmptyBody empty) {
  // JSON's own whitespace (RFC 8259: space, tab, LF, CR), not text's: a body
  // of "\u00a0" is not empty, it is invalid JSON.
  auto blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) {
    if (empty == EmptyBody::kAsEmptyObject) return json::object();
    return body_error("request body is empty: expected a JSON object");
  }
  if (too_deep(body)) return body_error("invalid JSON body: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    return body_error("invalid JSON body: syntax error at byte " + std::to_string(e.byte));
  } catch (const std::exception&) {
    return body_error("invalid JSON body");
  }
  if (!j.is_object()) return body_error("JSON body must be an object");
  return j;
}

chat::Result<json> parse_json_object(const httplib::Request& req, EmptyBody empty) {
  return parse_json_object(std::string_view(req.body), empty);
}

chat::Result<std::string> required_string(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return invalid(field, "required");
  if (!v->is_string()) return invalid(field, "must be a string");
  return v->get<std::string>();
}

chat::Result<std::string> required_nonempty_string(const json& obj, std::string_view field) {
  auto s = required_string(obj, field);
  if (!s) return s;
  if (chat::is_blank(*s)) return invalid(field, "must not be empty");
  return s;
}

chat::Result<std::optional<std::string>> optional_string(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return std::optional<std::string>{};
  if (!v->is_string()) return invalid(field, "must be a string");
  return std::optional<std::string>(v->get<std::string>());
}

chat::Result<std::optional<bool>> optional_bool(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return std::optional<bool>{};
  if (!v->is_boolean()) return invalid(field, "must be a boolean");
  return std::optional<bool>(v->get<bool>());
}

chat::Result<std::optional<std::int64_t>> optional_int64(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return std::optional<std::int64_t>{};
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return invalid(field, "out of range");
    }
    return std::optional<std::int64_t>(v->get<std::int64_t>());
  }
  return invalid(field, "must be an integer");
}

chat::Result<std::optional<double>> optional_number(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return std::optional<double>{};
  if (!v->is_number()) return invalid(field, "must be a number");
  return std::optional<double>(v->get<double>());
}

chat::Result<std::optional<std::string>> optional_object(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return std::optional<std::string>{};
  if (!v->is_object()) return invalid(field, "must be an object");
  return std::optional<std::string>(dump(*v));
}

chat::Result<std::optional<std::string>> optional_array(const json& obj, std::string_view field) {
  const json* v = field_of(obj, field);
  if (v == nullptr) return std::optional<std::string>{};
  if (!v->is_array()) return invalid(field, "must be an array");
  return std::optional<std::string>(dump(*v));
}

chat::Result<std::optional<std::string>> query_string(const httplib::Request& req, std::string_view name) {
  const std::string key(name);
  if (!req.has_param(key.c_str())) return std::optional<std::string>{};
  std::string v = req.get_param_value(key.c_str());
  if (v.empty()) return std::optional<std::string>{};
  return std::optional<std::string>(std::move(v));
}

chat::Result<std::optional<std::string>> query_filter_text(const httplib::Request& req, std::string_view name) {
  auto s = query_string(req, name);
  if (!s || !*s) return s;
  if (auto ok = chat::check_filter_text(name, **s); !ok) {
    // "<name> must not ..." from the library, in this file's "<name>: ..." form.
    std::string_view what = ok.error().message;
    if (what.size() > name.size() && what.substr(0, name.size()) == name) what.remove_prefix(name.size() + 1);
    return invalid(name, what);
  }
  return s;
}

chat::Result<std::optional<std::int64_t>> query_int64(const httplib::Request& req, std::string_view name,
                                                      std::int64_t min, std::int64_t max) {
  auto s = query_string(req, name);
  if (!s) return s.error();
  if (!*s) return std::optional<std::int64_t>{};
  const std::string& text = **s;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string range = "must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
  if (ec != std::errc{} || ptr != text.data() + text.size() || v < min || v > max) return invalid(name, range);
  return std::optional<std::int64_t>(v);
}

chat::Result<std::int64_t> query_int64(const httplib::Request& req, std::string_view name, std::int64_t fallback,
                                       std::int64_t min, std::int64_t max) {
  auto v = query_int64(req, name, min, max);
  if (!v) return v.error();
  return v->value_or(fallback);
}

chat::Result<std::optional<bool>> query_bool(const httplib::Request& req, std::string_view name) {
  auto s = query_string(req, name);
  if (!s) return s.error();
  if (!*s) return std::optional<bool>{};
  std::string v = **s;
  for (auto& c : v) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (v == "true" || v == "1") return std::optional<bool>(true);
  if (v == "false" || v == "0") return std::optional<bool>(false);
  return invalid(name, "must be true, false, 1 or 0");
}

std::optional<std::int64_t> parse_int64(std::string_view text) noexcept {
  if (text.empty() || text.front() == '+') return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string dump_json(const json& j) { return dump(j); }

void render_json(httplib::Response& res, int status, const json& body) { render_json_text(res, status, dump(body)); }

void render_json_text(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.body = std::move(body);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", "application/json");
}

json json_from_text(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return json(std::string(text));
  return j;
}

}  // namespace chatd
