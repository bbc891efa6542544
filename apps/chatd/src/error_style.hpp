// error_style.hpp: how one seed API words the errors it answers, applied in
// one place (the endpoint adapter, endpoint.hpp) to every parse and service
// error of the API's routes. Errors of authentication (401/403) are never
// restyled: every API answers them alike.
//
// The library names fields in its own words (handle, content, client_id,
// text); a seed's clients know the seed's words (session_id, message,
// message_id, query). An ErrorStyle holds the API's one rename table.
//
// Convention (libchat's and chatd's parsers keep it): the message of an error
// about one field starts with the field's name ("content is required",
// "limit: must be an integer between 1 and 100"). A rename therefore replaces
// `field` and, when the message starts with the old name as a whole word, that
// prefix; nothing else in the message changes. The status stays the one table
// of http_errors.hpp: a style never changes the code.
//
// After the renames an API may have a `rewrite` step of its own (seed 000
// words its not-found and duplicate errors and adds a detailed code; seed 001
// says "session" for the library's "conversation"). Its result, when not
// empty, is added to the error body at the top level as "code".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/result.hpp"

namespace httplib {
struct Response;
}

namespace chatd {

struct FieldRename {
  std::string_view from;  // the library's name
  std::string_view to;    // the seed's name
};

struct ErrorStyle {
  std::vector<FieldRename> renames;
  // Runs after the renames; may change the error; returns the seed's detailed code or "".
  using Rewrite = std::string (*)(chat::Error& e);
  Rewrite rewrite = nullptr;
};

// The error as the API words it (renames, then rewrite), and the detailed code (or "").
struct StyledError {
  chat::Error error;
  std::string code;
};
StyledError restyle(const ErrorStyle& style, chat::Error e);

// Renders the restyled error: render_error() of http_errors.hpp, plus "code" when the style gives one.
void render_error(httplib::Response& res, const ErrorStyle& style, chat::Error e);

}  // namespace chatd
