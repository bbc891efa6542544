#include "route_context.hpp"

#include <httplib.h>

#include "http_errors.hpp"

namespace chatd {

namespace {

chat::Error unauthenticated(std::string message) {
  return chat::Error{chat::ErrorCode::kUnauthenticated, std::move(message), {}};
}

}  // namespace

std::optional<chat::Principal> RouteContext::authenticate_optional(const httplib::Request& req,
                                                                   httplib::Response& res) const {
  if (!req.has_header("Authorization")) return chat::Principal::anonymous();
  const std::string value = req.get_header_value("Authorization");
  auto token = parse_bearer(value);
  if (!token) {
    render_error(res, unauthenticated("malformed Authorization header: expected 'Bearer <token>'"));
    return std::nullopt;
  }
  auto who = tokens.verify(*token);
  if (!who) {
    render_error(res, who.error());
    return std::nullopt;
  }
  return std::move(*who);
}

std::optional<chat::Principal> RouteContext::authenticate_required(const httplib::Request& req,
                                                                   httplib::Response& res,
                                                                   chat::PrincipalRole min) const {
  if (!req.has_header("Authorization")) {
    render_error(res, unauthenticated("authentication required: send 'Authorization: Bearer <token>'"));
    return std::nullopt;
  }
  auto who = authenticate_optional(req, res);
  if (!who) return std::nullopt;
  if (!require_role(*who, min, res)) return std::nullopt;
  return who;
}

bool require_role(const chat::Principal& who, chat::PrincipalRole min, httplib::Response& res) {
  if (role_at_least(who.role, min)) return true;
  if (who.is_anonymous()) {
    render_error(res, unauthenticated("authentication required: send 'Authorization: Bearer <token>'"));
  } else {
    render_error(res, chat::Error{chat::ErrorCode::kPermissionDenied,
                                  "role " + std::string(chat::to_string(min)) + " or higher required", {}});
  }
  return false;
}

}  // namespace chatd
