// http_errors.hpp: the one place where a chat::ErrorCode becomes an HTTP status,
// and the one JSON shape of every error chatd answers.
//
//   not_found          404      unauthenticated     401 (+ WWW-Authenticate: Bearer)
//   invalid_argument   400      permission_denied   403
//   conflict           409      gone                410
//   unavailable        503      deadline_exceeded   504
//   upstream_error     502      resource_exhausted  429 (+ Retry-After: 1)
//   internal           500
//
// resource_exhausted is 429 Too Many Requests, not 503: it is what the library
// answers when a bounded resource is full (open streams, rate limits), a
// condition of this client's demand that clears when it backs off; 503 stays
// for the server itself being unavailable.
//
// The error body (Content-Type application/json), the same for every route so
// that clients of any seed can read it:
//
//   {"success": false,
//    "error": {"code": "invalid_argument", "message": "content: required", "field": "content"},
//    "message": "content: required"}
//
// "success": false fits the envelopes of seeds 000 and 003 ({"success", "data"});
// "message" at the top level is what their clients print; "error.code" is the
// stable lower_snake_case chat::to_string(ErrorCode) (plus the HTTP-only codes
// "method_not_allowed" and "payload_too_large"); "error.field" is present only
// when the error is about one input field. Internal errors never carry
// details: the message is "internal error" and the details go to the log.
#pragma once

#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace httplib {
struct Response;
}

namespace chatd {

// The HTTP status for a code (see the table above).
int http_status(chat::ErrorCode code) noexcept;

// The JSON error body for `error` (messages of kInternal errors are replaced by "internal error").
std::string error_body(const chat::Error& error);
// The same shape with a code of one's own ("method_not_allowed", "payload_too_large").
std::string error_body(std::string_view code, std::string_view message, std::string_view field = {});

// Renders `error` into `res`: status from the table, JSON body, and the
// WWW-Authenticate / Retry-After headers that go with 401 / 429.
void render_error(httplib::Response& res, const chat::Error& error);
// Renders an error with an explicit status and code (404 unknown path, 405, 413, ...).
void render_error(httplib::Response& res, int status, std::string_view code, std::string_view message,
                  std::string_view field = {});

}  // namespace chatd
