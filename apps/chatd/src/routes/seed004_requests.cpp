#include "routes/seed004_requests.hpp"

#include <httplib.h>

#include <algorithm>
#include <utility>

#include "http_json.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

chat::ConversationKey session_key(std::string_view id) {
  return chat::ConversationKey::of_any(std::string(id), chat::ConversationKind::kCoach);
}

}  // namespace

chat::Result<StartCoachRequest> parse_start_coach(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CHAT_ASSIGN_OR_RETURN(auto job_id,
                        optional_string_or_integer(body, "job_id", "must be an integer or a non-empty string"));
  if (!job_id) return chat::Error::invalid("job_id", "job_id: required");
  StartCoachRequest out;
  out.start.job_id = std::move(*job_id);
  CHAT_ASSIGN_OR_RETURN(out.start.question, required_nonempty_string(body, "question"));
  return out;
}

chat::Result<CoachMessageRequest> parse_coach_message(const httplib::Request& req, const PathParams& p) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CoachMessageRequest out{session_key(p.get("session_id")), {}};
  CHAT_ASSIGN_OR_RETURN(out.reply.content, required_nonempty_string(body, "message"));
  return out;
}

chat::Result<CoachSessionRequest> parse_coach_session(const httplib::Request&, const PathParams& p) {
  return CoachSessionRequest{std::string(p.get("session_id")), session_key(p.get("session_id"))};
}

chat::Result<CoachHistoryRequest> parse_coach_history(const httplib::Request& req, const PathParams& p,
                                                      const chat::ServiceLimits& limits) {
  CoachHistoryRequest out{std::string(p.get("session_id")), session_key(p.get("session_id")), {}};
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, {limits.max_page, limits.max_page}));
  out.query.include_system = false;
  out.query.limit = page.limit;
  out.query.offset = page.offset;
  return out;
}

chat::Result<ListCoachSessionsRequest> parse_list_coach_sessions(const httplib::Request& req, const PathParams&,
                                                                 const chat::ServiceLimits& limits) {
  CHAT_ASSIGN_OR_RETURN(auto page,
                        parse_page(req, {std::min(kDefaultCoachSessionPage, limits.max_page), limits.max_page}));
  ListCoachSessionsRequest out;
  out.query.limit = page.limit;
  out.query.offset = page.offset;
  return out;
}

chat::Result<PutProfileRequest> parse_put_profile(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  PutProfileRequest out;
  auto& p = out.profile;
  for (auto [field, section] : {std::pair<const char*, std::string*>{"work_history", &p.work_history},
                                {"education", &p.education},
                                {"projects", &p.projects},
                                {"skills", &p.skills}}) {
    CHAT_ASSIGN_OR_RETURN(auto v, optional_array(body, field));
    *section = v.value_or("[]");
  }
  return out;
}

}  // namespace chatd
