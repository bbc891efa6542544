// chat/coach.hpp: seed 004 resume-coach sessions (ChatService::
// start_coach_session, get_coach_session, list_coach_sessions,
// get_coach_context).
//
// A coach session is the caller's conversation of kind coach about one job
// (a Subject): its initial_context holds the caller's resume and the job,
// each within a token budget (CoachOptions), and the model answers the
// caller's questions against it. Reading a session follows the ownership
// rules of chat/service.hpp (another user's session answers kNotFound; an
// admin sees every session); listing is always the caller's own sessions,
// admins included. Plain value types.
//
// Seed words: seed 004 `session_id` = the conversation uuid (the integer id
// also names it), `job_id` = the Subject id, `question` / `message` = the
// user message, "deactivate" = delete_conversation (a soft delete),
// `resume` / `job_description` = CoachContextSections.
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>

#include "chat/reply.hpp"
#include "chat/types.hpp"

namespace chat {

// Budgets of a coach session's initial_context (see start_coach_session).
struct CoachOptions {
  std::int64_t resume_tokens = 1500;  // the "## Resume" part, truncation mark included
  std::int64_t job_tokens = 1000;     // the "## Job:" part (title + description)
  std::string preamble =
      "You are a career coach. Help the candidate tailor their resume to the job below: point to the "
      "experience and skills that match it, what is missing, and how to phrase it. Base your advice on the "
      "resume and the job description; say so when they do not tell.";
};

// A coach session: the conversation and what the service recorded when it
// built the session's context.
struct CoachSession {
  Conversation conversation;
  std::string job_id;                 // the Subject the session is about (= conversation.subject)
  std::int64_t resume_tokens = 0;     // tokens of the resume part of initial_context
  std::int64_t job_tokens = 0;        // tokens of the job part
  bool resume_truncated = false;      // the resume was cut to CoachOptions::resume_tokens
  bool job_truncated = false;         // the job was cut to CoachOptions::job_tokens
};

// The session a coach conversation is (job_id = subject; the token counts and
// truncation flags recorded in its metadata, 0/false when absent): what an
// event's conversation snapshot renders as (issue 14).
CoachSession coach_session_from(Conversation c);

// The two parts of a coach session's initial_context.
struct CoachContextSections {
  CoachSession session;
  std::string initial_context;  // the whole text the model sees first
  std::string resume;           // from "## Resume" up to the job part ("" when absent)
  std::string job_description;  // from "## Job:" to the end ("" when absent)
};

struct CoachStart {
  std::string job_id;    // a Subject id (put_subject)
  std::string question;  // required: the first (or next) user message
  std::stop_token stop{};  // as ReplyRequest::stop (chat/reply.hpp)
};

struct CoachStartResult {
  ReplyResult reply;     // reply.conversation is the session, counters updated
  CoachSession session;  // the same session with its context figures
  bool created = false;  // true: a new session was opened for this call
};

// list_coach_sessions: the caller's active sessions, most recent activity first.
struct CoachSessionQuery {
  std::int64_t limit = 50;  // 1..ServiceOptions::max_page
  std::int64_t offset = 0;
};

}  // namespace chat
