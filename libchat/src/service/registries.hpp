// The registries the seeds assume: AI personas (Agent), subjects (jobs),
// profiles (resumes) and the audit trail. Private to libchat.
//
// - put_agent and list_audit are an admin's; put_subject, get_subject,
//   put_profile and get_profile need an authenticated caller.
// - put_subject upserts; an existing subject created by someone else cannot be
//   overwritten except by an admin (kConflict, field "id"); the creator stays.
// - get_profile of a user without one answers an empty profile.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "chat/service.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class Registries {
 public:
  explicit Registries(ServiceCore& core) : core_(core) {}

  Result<Agent> put_agent(const Principal& who, Agent a);
  // Admins see a persona's system prompt; anyone else gets it withheld
  // (empty, Agent::system_prompt_hidden).
  Result<Agent> get_agent(const Principal& who, std::int64_t id);
  Result<std::vector<Agent>> list_agents(const Principal& who);
  // kNotFound "agent_id" unless `agent_id` names a persona.
  Status check_agent_exists(std::int64_t agent_id);

  Result<Subject> put_subject(const Principal& who, Subject s);
  Result<Subject> get_subject(const Principal& who, std::string_view id);

  Result<Profile> put_profile(const Principal& who, Profile p);
  Result<Profile> get_profile(const Principal& who);

  Result<std::vector<AuditEntry>> list_audit(const Principal& who, const AuditQuery& q);

 private:
  ServiceCore& core_;
};

}  // namespace chat::detail
