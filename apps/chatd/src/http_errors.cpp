#include "http_errors.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace chatd {

int http_status(chat::ErrorCode code) noexcept {
  using chat::ErrorCode;
  switch (code) {
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kGone: return 410;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kUpstream: return 502;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string error_body(std::string_view code, std::string_view message, std::string_view field) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  nlohmann::json body = {{"success", false}, {"error", std::move(err)}, {"message", message}};
  // Replace invalid UTF-8 (a message may quote client input) instead of throwing.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(const chat::Error& error) {
  if (error.code == chat::ErrorCode::kInternal) return error_body("internal", "internal error");
  return error_body(chat::to_string(error.code), error.message, error.field);
}

void render_error(httplib::Response& res, int status, std::string_view code, std::string_view message,
                  std::string_view field) {
  res.status = status;
  if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
  // A full resource (429) or a store or model out of reach (503): worth a
  // retry shortly (RFC 9110 15.6.4).
  if (status == 429 || status == 503) res.set_header("Retry-After", "1");
  res.set_content(error_body(code, message, field), "application/json");
}

void render_error(httplib::Response& res, const chat::Error& error) {
  res.status = http_status(error.code);
  if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (res.status == 429 || res.status == 503) res.set_header("Retry-After", "1");
  res.set_content(error_body(error), "application/json");
}

}  // namespace chatd
