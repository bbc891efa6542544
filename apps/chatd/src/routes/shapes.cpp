#include "routes/shapes.hpp"

#include <httplib.h>

#include "http_json.hpp"

namespace chatd {

using nlohmann::json;

chat::Result<PageParams> parse_page(const httplib::Request& req, const PageSpec& spec) {
  auto limit = query_int64(req, "limit", spec.default_limit, 1, spec.max_limit);
  if (!limit) return limit.error();
  auto offset = query_int64(req, "offset", 0, 0, spec.max_offset);
  if (!offset) return offset.error();
  return PageParams{*limit, *offset};
}

chat::Result<NoInput> parse_nothing(const httplib::Request&, const PathParams&) { return NoInput{}; }

chat::Result<std::optional<std::string>> optional_string_or_integer(const json& obj, std::string_view field,
                                                                    std::string_view wrong_type) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>{};
  if (it->is_number_integer()) return std::optional<std::string>(it->dump());
  if (const auto* text = it->get_ptr<const std::string*>(); text != nullptr && !text->empty())
    return std::optional<std::string>(*text);
  return chat::Error::invalid(std::string(field), std::string(field) + ": " + std::string(wrong_type));
}

json time_or_null(const std::optional<chat::Timestamp>& t) {
  return t ? json(chat::format_timestamp(*t)) : json(nullptr);
}

json string_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json user_id_json(const std::string& id) {
  if (id.empty()) return nullptr;
  if (auto n = parse_int64(id)) return *n;
  return id;
}

json success_data(json data) { return {{"success", true}, {"data", std::move(data)}}; }

json success_message_data(std::string message, json data) {
  return {{"success", true}, {"message", std::move(message)}, {"data", std::move(data)}};
}

json items_count(json items, std::int64_t count) { return {{"items", std::move(items)}, {"count", count}}; }

}  // namespace chatd
