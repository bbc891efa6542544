#include "service/registries.hpp"

#include <string>
#include <utility>

#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

Result<Agent> Registries::put_agent(const Principal& who, Agent a) {
  CHAT_RETURN_IF_ERROR(require_admin(who));
  CHAT_RETURN_IF_ERROR(check_non_negative("id", a.id));
  CHAT_RETURN_IF_ERROR(check_required_text("name", a.name, kMaxNameBytes));
  CHAT_RETURN_IF_ERROR(check_text("system_prompt", a.system_prompt, core_.options.max_context_bytes));
  CHAT_RETURN_IF_ERROR(check_text("model", a.model, kMaxNameBytes));
  return core_.store->put_agent(a, core_.now());
}

namespace {

// A persona's system prompt is the operator's configuration: admins only.
Agent as_seen_by(const Principal& who, Agent a) {
  if (!who.is_admin()) {
    a.system_prompt.clear();
    a.system_prompt_hidden = true;
  }
  return a;
}

}  // namespace

Result<Agent> Registries::get_agent(const Principal& who, std::int64_t id) {
  if (id <= 0) return Error::not_found("agent not found");
  auto a = core_.store->get_agent(id);
  if (!a) return not_found_as(std::move(a).error(), Error::not_found("agent not found"));
  return as_seen_by(who, std::move(*a));
}

Result<std::vector<Agent>> Registries::list_agents(const Principal& who) {
  CHAT_ASSIGN_OR_RETURN(auto agents, core_.store->list_agents());
  for (auto& a : agents) a = as_seen_by(who, std::move(a));
  return agents;
}

Status Registries::check_agent_exists(std::int64_t agent_id) {
  if (agent_id > 0) {
    auto a = core_.store->get_agent(agent_id);
    if (a) return {};
    if (a.error().code != ErrorCode::kNotFound) return std::move(a).error();
  }
  return Error::not_found("agent_id", "agent " + std::to_string(agent_id) + " not found");
}

Result<Subject> Registries::put_subject(const Principal& who, Subject s) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  CHAT_RETURN_IF_ERROR(check_text("id", s.id, kMaxNameBytes));
  // An id given must name something: a blank one ("\u00a0") would be a job no one can type.
  if (!s.id.empty() && is_blank(s.id)) return Error::invalid("id", "id must not be blank");
  CHAT_RETURN_IF_ERROR(check_required_text("title", s.title, kMaxTitleBytes));
  CHAT_RETURN_IF_ERROR(check_text("description", s.description, core_.options.max_context_bytes));
  if (s.id.empty()) {
    s.id = generate_uuid_v4();
  } else {
    auto existing = core_.store->get_subject(s.id);
    if (existing) {
      if (!who.is_admin() && existing->created_by != who.user_id)
        return Error::conflict("id", "a subject with this id already exists");
      s.created_by = existing->created_by;
    } else if (existing.error().code != ErrorCode::kNotFound) {
      return std::move(existing).error();
    }
  }
  if (s.created_by.empty()) s.created_by = who.user_id;
  return core_.store->put_subject(s, core_.now());
}

Result<Subject> Registries::get_subject(const Principal& who, std::string_view id) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  if (id.empty()) return Error::not_found("subject not found");
  auto s = core_.store->get_subject(id);
  if (!s) return not_found_as(std::move(s).error(), Error::not_found("subject not found"));
  return s;
}

Result<Profile> Registries::put_profile(const Principal& who, Profile p) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  p.user_id = who.user_id;
  for (auto [field, text] : {std::pair<const char*, std::string*>{"work_history", &p.work_history},
                             {"education", &p.education},
                             {"projects", &p.projects},
                             {"skills", &p.skills}}) {
    CHAT_ASSIGN_OR_RETURN(*text, normalize_json_array(*text, field, core_.options.max_context_bytes));
  }
  return core_.store->put_profile(p, core_.now());
}

Result<Profile> Registries::get_profile(const Principal& who) {
  CHAT_RETURN_IF_ERROR(require_authenticated(who));
  auto p = core_.store->get_profile(who.user_id);
  if (!p && p.error().code == ErrorCode::kNotFound) {
    Profile empty;
    empty.user_id = who.user_id;
    return empty;
  }
  return p;
}

Result<std::vector<AuditEntry>> Registries::list_audit(const Principal& who, const AuditQuery& q) {
  CHAT_RETURN_IF_ERROR(require_admin(who));
  CHAT_RETURN_IF_ERROR(check_page(q.limit, q.offset, core_.options.max_page));
  return core_.store->list_audit(q);
}

}  // namespace chat::detail
