// The registries: agents, subjects and profiles. Private.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "chat/result.hpp"
#include "chat/types.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

class Registries {
 public:
  explicit Registries(Database& db) : db_(db) {}
  Result<Agent> put_agent(const Agent& a, Timestamp now);
  Result<Agent> get_agent(std::int64_t id);
  Result<std::vector<Agent>> list_agents();
  Result<Subject> put_subject(const Subject& s, Timestamp now);
  Result<Subject> get_subject(std::string_view id);
  Result<Profile> put_profile(const Profile& p, Timestamp now);
  Result<Profile> get_profile(std::string_view user_id);

 private:
  Database& db_;
};

}  // namespace chat::pg
