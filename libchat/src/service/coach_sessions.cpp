#include "service/coach_sessions.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "service/access.hpp"
#include "service/coach_context.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

namespace {

std::string coach_handle_prefix(const std::string& user_id, const std::string& job_id) {
  std::string input = user_id;
  input.push_back('\0');
  input += job_id;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 16)
    throw std::runtime_error("sha256 failed");  // the guard turns it into kInternal
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "coach-";
  for (unsigned i = 0; i < 16; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out + "-";
}

ConversationKey as_coach(ConversationKey key) {
  key.kind = ConversationKind::kCoach;
  return key;
}

}  // namespace

CoachSession coach_session_of(Conversation c) {
  CoachSession s;
  s.job_id = c.subject;
  auto meta = nlohmann::json::parse(c.metadata, nullptr, false);
  if (meta.is_object()) {
    s.resume_tokens = meta.value("resume_tokens", std::int64_t{0});
    s.job_tokens = meta.value("job_tokens", std::int64_t{0});
    s.resume_truncated = meta.value("resume_truncated", false);
    s.job_truncated = meta.value("job_truncated", false);
  }
  s.conversation = std::move(c);
  return s;
}

Result<Conversation> CoachSessions::create(const Principal& who, const Subject& job, std::int64_t sessions_ever) {
  auto profile = core_.store->get_profile(who.user_id);
  Profile p;
  p.user_id = who.user_id;
  if (profile) {
    p = std::move(*profile);
  } else if (profile.error().code != ErrorCode::kNotFound) {
    return std::move(profile).error();
  }
  const CoachContext ctx = build_coach_context(p, job, core_.options.coach, *core_.tokens);

  NewConversation nc;
  nc.kind = ConversationKind::kCoach;
  nc.handle = coach_handle_prefix(who.user_id, job.id) + std::to_string(sessions_ever + 1);
  nc.subject = job.id;
  nc.title = job.title.substr(0, kMaxTitleBytes);
  while (!nc.title.empty() && !is_valid_utf8(nc.title)) nc.title.pop_back();
  nc.initial_context = ctx.text;
  nc.metadata = nlohmann::json{{"job_id", job.id},
                               {"resume_tokens", ctx.resume_tokens},
                               {"job_tokens", ctx.job_tokens},
                               {"resume_truncated", ctx.resume_truncated},
                               {"job_truncated", ctx.job_truncated}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return conversations_.create(who, std::move(nc));
}

Result<Conversation> CoachSessions::open(const Principal& who, const Subject& job, bool& created) {
  created = false;
  for (int attempt = 0; attempt < 8; ++attempt) {
    // One read (one snapshot) answers both questions: is there a live
    // session, and how many were ever opened (the next handle). Two reads
    // would race: a start reading between another's commit and its own count
    // would miss the new session and open a second one.
    ConversationQuery q;
    q.kind = ConversationKind::kCoach;
    q.user_id = who.user_id;
    q.subject = job.id;
    q.include_deleted = true;
    q.limit = core_.options.max_page;
    CHAT_ASSIGN_OR_RETURN(auto ever, core_.store->list_conversations(q));
    auto live = std::find_if(ever.items.begin(), ever.items.end(),
                             [](const Conversation& c) { return !c.deleted_at && c.is_active; });
    if (live != ever.items.end()) return std::move(*live);

    auto made = create(who, job, ever.total);
    if (made) {
      created = true;
      return made;
    }
    if (made.error().code != ErrorCode::kConflict) return std::move(made).error();
    // kConflict: another start won the handle; look again.
  }
  return Error::unavailable("could not open a coach session; try again");
}

Result<CoachStartResult> CoachSessions::start(const Principal& who, CoachStart s) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  CHAT_RETURN_IF_ERROR(check_required_text("job_id", s.job_id, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_required_text("question", s.question, core_.options.max_content_bytes));
  auto job = core_.store->get_subject(s.job_id);
  if (!job) return not_found_as(std::move(job).error(), Error::not_found("job_id", "job " + s.job_id + " not found"));

  // Admitted before the session is opened: a busy server creates nothing.
  CHAT_ASSIGN_OR_RETURN(auto permit, core_.calls.admit());
  if (s.stop.stop_requested()) return Error::unavailable("the model call was cancelled");
  CoachStartResult out;
  CHAT_ASSIGN_OR_RETURN(auto session, open(who, *job, out.created));
  ReplyRequest r;
  r.content = std::move(s.question);
  r.stop = s.stop;
  auto reply = replies_.reply(who, ConversationKey::of_id(session.id, ConversationKind::kCoach), std::move(r), nullptr,
                              &permit);
  if (!reply) {
    Error e = std::move(reply).error();
    if (e.field == "content") e.field = "question";
    return e;
  }
  out.reply = std::move(*reply);
  out.session = coach_session_of(out.reply.conversation);
  return out;
}

Result<CoachSession> CoachSessions::get(const Principal& who, const ConversationKey& key) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, as_coach(key)));
  return coach_session_of(std::move(c));
}

Result<Page<CoachSession>> CoachSessions::list(const Principal& who, const CoachSessionQuery& q) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, core_.options.max_page));
  ConversationQuery cq;
  cq.kind = ConversationKind::kCoach;
  cq.user_id = who.user_id;  // the caller's own, whatever the role
  cq.is_active = true;
  cq.order = ConversationOrder::kRecentActivity;
  cq.limit = q.limit;
  cq.offset = q.offset;
  cq.budget = core_.page_budget();
  CHAT_ASSIGN_OR_RETURN(auto page, core_.store->list_conversations(cq));
  Page<CoachSession> out;
  out.total = page.total;
  out.has_more = page.has_more;
  out.items.reserve(page.items.size());
  for (auto& c : page.items) out.items.push_back(coach_session_of(std::move(c)));
  return out;
}

Result<CoachContextSections> CoachSessions::context(const Principal& who, const ConversationKey& key) {
  CHAT_ASSIGN_OR_RETURN(auto session, get(who, key));
  CoachContextSections out;
  out.initial_context = session.conversation.initial_context;
  auto parts = split_coach_context(out.initial_context);
  out.resume = std::move(parts.resume);
  out.job_description = std::move(parts.job);
  out.session = std::move(session);
  return out;
}

}  // namespace chat::detail

namespace chat {

CoachSession coach_session_from(Conversation c) { return detail::coach_session_of(std::move(c)); }

}  // namespace chat
