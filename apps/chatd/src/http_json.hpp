// http_json.hpp: reading JSON requests and writing JSON responses, for every route.
//
// A route's parse function (routes/*_requests.cpp) reads its input with these
// helpers, so that every seed API answers bad input the same way: 400 with the
// error body of http_errors.hpp, naming the field ("content: required",
// "limit: must be an integer between 1 and 100"). Every message about a field
// starts with the field's name (error_style.hpp relies on it).
//
//   CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));             // "invalid JSON body: ..."
//   CHAT_ASSIGN_OR_RETURN(out.content, required_string(body, "content"));  // naming "content"
//   CHAT_ASSIGN_OR_RETURN(auto limit, query_int64(req, "limit", 50, 1, 100));
//
// Conventions:
// - The body must be a JSON object; the Content-Type is not checked (clients
//   that send JSON as text/plain work). An empty body is an error unless the
//   route says it may be empty (EmptyBody::kAsEmptyObject).
// - Nesting deeper than kMaxJsonDepth is refused before parsing: no body can
//   exhaust a worker's stack.
// - A JSON null counts as an absent field for the optional accessors, and as
//   missing for the required ones.
// - Integers must be JSON integers (5, not 5.0 or "5"); booleans JSON booleans.
// - Query parameters: integers in decimal with an optional '-', booleans as
//   true/false/1/0 (any case); a parameter given empty counts as absent.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace chatd {

inline constexpr int kMaxJsonDepth = 64;

enum class EmptyBody { kReject, kAsEmptyObject };

// The body as a JSON object. kInvalidArgument (field empty) for an empty body
// (unless allowed), invalid JSON ("invalid JSON body: syntax error at byte 12"),
// nesting too deep, or a value that is not an object ("JSON body must be an object").
chat::Result<nlohmann::json> parse_json_object(std::string_view body, EmptyBody empty = EmptyBody::kReject);
chat::Result<nlohmann::json> parse_json_object(const httplib::Request& req, EmptyBody empty = EmptyBody::kReject);

// ---- fields of a JSON object (kInvalidArgument naming the field on a wrong type)
chat::Result<std::string> required_string(const nlohmann::json& obj, std::string_view field);
// required_string that also refuses blank strings: "" and strings of Unicode
// White_Space only (chat::is_blank: " ", "\u00a0", "\u3000", "\v", ...).
chat::Result<std::string> required_nonempty_string(const nlohmann::json& obj, std::string_view field);
chat::Result<std::optional<std::string>> optional_string(const nlohmann::json& obj, std::string_view field);
chat::Result<std::optional<bool>> optional_bool(const nlohmann::json& obj, std::string_view field);
chat::Result<std::optional<std::int64_t>> optional_int64(const nlohmann::json& obj, std::string_view field);
chat::Result<std::optional<double>> optional_number(const nlohmann::json& obj, std::string_view field);
// An object field, returned as compact JSON text ("{...}"), ready for the library's metadata fields.
chat::Result<std::optional<std::string>> optional_object(const nlohmann::json& obj, std::string_view field);
// An array field, returned as compact JSON text ("[...]").
chat::Result<std::optional<std::string>> optional_array(const nlohmann::json& obj, std::string_view field);

// ---- query parameters
chat::Result<std::optional<std::string>> query_string(const httplib::Request& req, std::string_view name);
// A search or filter text: query_string under chat::check_filter_text (valid
// UTF-8, at most 1024 bytes, no control character but tab, LF, CR: a NUL is
// "search: must not contain control characters ..."), naming the parameter.
chat::Result<std::optional<std::string>> query_filter_text(const httplib::Request& req, std::string_view name);
chat::Result<std::optional<std::int64_t>> query_int64(const httplib::Request& req, std::string_view name,
                                                      std::int64_t min, std::int64_t max);
// With a default for an absent parameter.
chat::Result<std::int64_t> query_int64(const httplib::Request& req, std::string_view name, std::int64_t fallback,
                                       std::int64_t min, std::int64_t max);
chat::Result<std::optional<bool>> query_bool(const httplib::Request& req, std::string_view name);

// ---- path segments
// A strict decimal integer ("12", "-3"; not "12abc", " 12", "1e3", ""), for
// ids in paths: a route answers 404 (not 400) when this fails, since a
// non-numeric id names nothing.
std::optional<std::int64_t> parse_int64(std::string_view text) noexcept;

// ---- responses
// Sets status, Content-Type application/json and the compact body. Invalid
// UTF-8 in strings is replaced (U+FFFD), never thrown.
void render_json(httplib::Response& res, int status, const nlohmann::json& body);
// A body already serialized.
void render_json_text(httplib::Response& res, int status, std::string body);
// The text render_json answers for `j`: compact, keys in order, invalid UTF-8 replaced.
std::string dump_json(const nlohmann::json& j);
// Parses JSON text the library stored (metadata "{}") into a value for a
// response; text that is not JSON becomes a JSON string rather than a throw.
nlohmann::json json_from_text(std::string_view text);

}  // namespace chatd
