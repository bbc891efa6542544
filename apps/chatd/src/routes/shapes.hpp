// routes/shapes.hpp: what the seed routes share when they parse and render:
// pages, string-or-integer ids, nullable values, and each API's envelope.
//
// Envelopes, by API:
//   seed 000            {"success": true, "data": ...}                  success_data()
//   seed 003            {"success": true, "message": "...", "data": ...} success_message_data()
//   seed 002, agents    {"items": [...], "count": n}                    items_count()
//   seed 001, 004, jobs bare objects and arrays
// Errors have one envelope for every API (http_errors.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/result.hpp"
#include "chat/time.hpp"
#include "router.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// ---- pages: ?limit=&offset=, per-API defaults and maxima
struct PageSpec {
  std::int64_t default_limit;
  std::int64_t max_limit;
  std::int64_t max_offset = std::numeric_limits<std::int64_t>::max();
};
struct PageParams {
  std::int64_t limit = 0;
  std::int64_t offset = 0;
};
// limit in [1, max_limit] (default default_limit), offset in [0, max_offset]
// (default 0); kInvalidArgument naming the parameter otherwise.
chat::Result<PageParams> parse_page(const httplib::Request& req, const PageSpec& spec);
// The page [offset, offset + limit) of a list the service answers whole (the
// agents registry, a conversation's activity periods): bounds the answer.
template <class T>
std::vector<T> page_of(const std::vector<T>& all, const PageParams& page) {
  const auto size = static_cast<std::int64_t>(all.size());
  const auto first = std::min(page.offset, size);
  const auto last = std::min(size, first + std::min(page.limit, size - first));
  return std::vector<T>(all.begin() + first, all.begin() + last);
}

// ---- routes that take no input (GET of a fixed resource)
struct NoInput {};
chat::Result<NoInput> parse_nothing(const httplib::Request& req, const PathParams& params);

// ---- ids a client may send as a JSON string or integer (seed 004 job_id, jobs id)
// The integer's decimal digits, or the non-empty string; nullopt when absent
// or null; kInvalidArgument naming `field` with "<field>: <wrong_type>" otherwise.
chat::Result<std::optional<std::string>> optional_string_or_integer(const nlohmann::json& obj, std::string_view field,
                                                                    std::string_view wrong_type);

// ---- rendering
// An ISO 8601 time, or null.
nlohmann::json time_or_null(const std::optional<chat::Timestamp>& t);
// The string, or null when empty.
nlohmann::json string_or_null(const std::string& s);
// The value, or null.
template <class T>
nlohmann::json value_or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
// A user id as the integer-id seeds show it: "1" renders as 1; other ids stay strings; none is null.
nlohmann::json user_id_json(const std::string& id);

nlohmann::json success_data(nlohmann::json data);
nlohmann::json success_message_data(std::string message, nlohmann::json data);
nlohmann::json items_count(nlohmann::json items, std::int64_t count);

}  // namespace chatd
