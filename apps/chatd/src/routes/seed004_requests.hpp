// routes/seed004_requests.hpp: the requests of seed 004 (resume-coach
// sessions under /api/chat/ and the profile registry /api/profile/), one
// struct and one pure parse function per route. <session_id> in a path is a
// session's uuid or integer id, scoped to kind coach.
#pragma once

#include <cstdint>
#include <string>

#include "chat/result.hpp"
#include "chat/service.hpp"
#include "router.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// POST /api/chat/start {"job_id": 123 | "123", "question"}
struct StartCoachRequest {
  chat::CoachStart start;
};
chat::Result<StartCoachRequest> parse_start_coach(const httplib::Request& req, const PathParams& p);

// POST /api/chat/<session_id>/message {"message"}
struct CoachMessageRequest {
  chat::ConversationKey key;
  chat::ReplyRequest reply;
};
chat::Result<CoachMessageRequest> parse_coach_message(const httplib::Request& req, const PathParams& p);

// GET .../context, POST .../deactivate
struct CoachSessionRequest {
  std::string session_id;  // as in the path
  chat::ConversationKey key;
};
chat::Result<CoachSessionRequest> parse_coach_session(const httplib::Request& req, const PathParams& p);

// GET /api/chat/<session_id>/history?limit&offset: the user and assistant
// turns, oldest first; limit 1..max_page, default max_page (1000: a session
// whole, as the front end expects); offset reaches the next page.
struct CoachHistoryRequest {
  std::string session_id;  // as in the path
  chat::ConversationKey key;
  chat::MessageQuery query;
};
chat::Result<CoachHistoryRequest> parse_coach_history(const httplib::Request& req, const PathParams& p,
                                                      const chat::ServiceLimits& limits);

// GET /api/chat/sessions?limit&offset: the caller's active sessions, most
// recent activity first; limit 1..max_page, default 100; offset reaches the
// next page ("count" is the total, "has_more" says whether one follows).
inline constexpr std::int64_t kDefaultCoachSessionPage = 100;
struct ListCoachSessionsRequest {
  chat::CoachSessionQuery query;
};
chat::Result<ListCoachSessionsRequest> parse_list_coach_sessions(const httplib::Request& req, const PathParams& p,
                                                                 const chat::ServiceLimits& limits);

// PUT /api/profile/ {"work_history"?: [...], "education"?: [...], "projects"?: [...], "skills"?: [...]}
// (an absent section is stored empty: PUT replaces)
struct PutProfileRequest {
  chat::Profile profile;
};
chat::Result<PutProfileRequest> parse_put_profile(const httplib::Request& req, const PathParams& p);

}  // namespace chatd
