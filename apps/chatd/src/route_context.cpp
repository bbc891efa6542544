#include "route_context.hpp"

#include <httplib.h>

#include "http_errors.hpp"

namespace chatd {

namespace {

chat::Error authentication_required() {
  return chat::Error::unauthenticated("authentication required: send 'Authorization: Bearer <token>'");
}

// The caller by the bearer token, if any: anonymous without a header, an error for a bad one.
chat::Result<chat::Principal> token_holder(const JwtTokens& tokens, const httplib::Request& req) {
  if (!req.has_header("Authorization")) return chat::Principal::anonymous();
  const std::string value = req.get_header_value("Authorization");
  auto token = parse_bearer(value);
  if (!token) return chat::Error::unauthenticated("malformed Authorization header: expected 'Bearer <token>'");
  return tokens.verify(*token);
}

chat::PrincipalRole min_role(Access access) {
  switch (access) {
    case Access::kAgent: return chat::PrincipalRole::kAgent;
    case Access::kAdmin: return chat::PrincipalRole::kAdmin;
    default: return chat::PrincipalRole::kUser;
  }
}

chat::Result<chat::Principal> required(const JwtTokens& tokens, const httplib::Request& req,
                                       chat::PrincipalRole min) {
  if (!req.has_header("Authorization")) return authentication_required();
  auto who = token_holder(tokens, req);
  if (!who) return who;
  CHAT_RETURN_IF_ERROR(check_role(*who, min));
  return who;
}

}  // namespace

chat::Result<chat::Principal> RouteContext::authenticate(const httplib::Request& req, Access access) const {
  switch (access) {
    case Access::kPublic: return chat::Principal::anonymous();
    case Access::kOptional: return token_holder(tokens, req);
    default: return required(tokens, req, min_role(access));
  }
}

std::optional<chat::Principal> RouteContext::authenticate_optional(const httplib::Request& req,
                                                                   httplib::Response& res) const {
  auto who = token_holder(tokens, req);
  if (!who) {
    render_error(res, who.error());
    return std::nullopt;
  }
  return std::move(*who);
}

std::optional<chat::Principal> RouteContext::authenticate_required(const httplib::Request& req,
                                                                   httplib::Response& res,
                                                                   chat::PrincipalRole min) const {
  auto who = required(tokens, req, min);
  if (!who) {
    render_error(res, who.error());
    return std::nullopt;
  }
  return std::move(*who);
}

chat::Status check_role(const chat::Principal& who, chat::PrincipalRole min) {
  if (role_at_least(who.role, min)) return {};
  if (who.is_anonymous()) return authentication_required();
  return chat::Error::permission_denied("role " + std::string(chat::to_string(min)) + " or higher required");
}

bool require_role(const chat::Principal& who, chat::PrincipalRole min, httplib::Response& res) {
  auto ok = check_role(who, min);
  if (!ok) render_error(res, ok.error());
  return ok.ok();
}

}  // namespace chatd
