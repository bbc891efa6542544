#include "store/postgres/registries.hpp"

#include <string>
#include <tuple>
#include <utility>

#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/postgres/rows.hpp"

namespace chat::pg {

namespace {

Result<Agent> load_agent(Conn& c, std::int64_t id) {
  const Rows r = c.exec("SELECT " CHAT_PG_AGENT_COLS " FROM agents WHERE id = $1", Params().add(id));
  if (r.empty()) return Error::not_found("agent not found");
  return read_agent(r, 0);
}

Result<Subject> load_subject(Conn& c, std::string_view id) {
  if (never_stored(id)) return Error::not_found("subject not found");
  const Rows r = c.exec("SELECT " CHAT_PG_SUBJECT_COLS " FROM subjects WHERE id = $1", Params().add(id));
  if (r.empty()) return Error::not_found("subject not found");
  return read_subject(r, 0);
}

}  // namespace

Result<Agent> Registries::put_agent(const Agent& a, Timestamp now) {
  return db_.guarded<Agent>([&]() -> Result<Agent> {
    if (a.name.empty()) return Error::invalid("name", "name is required");
    if (a.id < 0) return Error::invalid("id", "id must not be negative");
    return db_.write<Agent>([&](Conn& w) -> Result<Agent> {
      if (a.id == 0) {
        const Rows r = w.exec(
            "INSERT INTO agents (name, system_prompt, model, created_at, updated_at) VALUES ($1,$2,$3,$4,$4) "
            "RETURNING " CHAT_PG_AGENT_COLS,
            Params().add(a.name).add(a.system_prompt).add(a.model).add(now));
        return read_agent(r, 0);
      }
      const Rows r = w.exec(
          "INSERT INTO agents (id, name, system_prompt, model, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5) "
          "ON CONFLICT (id) DO UPDATE SET name = excluded.name, system_prompt = excluded.system_prompt, "
          "model = excluded.model, updated_at = excluded.updated_at RETURNING " CHAT_PG_AGENT_COLS,
          Params().add(a.id).add(a.name).add(a.system_prompt).add(a.model).add(now));
      // New ids continue above every explicit one (as SQLite's AUTOINCREMENT).
      w.exec("SELECT setval('agents_id_seq', GREATEST($1, (SELECT last_value FROM agents_id_seq)))",
             Params().add(a.id));
      return read_agent(r, 0);
    });
  });
}

Result<Agent> Registries::get_agent(std::int64_t id) {
  return db_.read<Agent>([&](Conn& r) { return load_agent(r, id); }, false);
}

Result<std::vector<Agent>> Registries::list_agents() {
  return db_.read<std::vector<Agent>>(
      [&](Conn& c) -> Result<std::vector<Agent>> {
        const Rows r = c.exec("SELECT " CHAT_PG_AGENT_COLS " FROM agents ORDER BY id");
        std::vector<Agent> out;
        for (int i = 0; i < r.size(); ++i) out.push_back(read_agent(r, i));
        return out;
      },
      false);
}

Result<Subject> Registries::put_subject(const Subject& in, Timestamp now) {
  return db_.guarded<Subject>([&]() -> Result<Subject> {
    const std::string id = in.id.empty() ? generate_uuid_v4() : in.id;
    return db_.write<Subject>([&](Conn& w) -> Result<Subject> {
      const Rows r = w.exec(
          "INSERT INTO subjects (id, title, description, created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5) "
          "ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description, "
          "updated_at = excluded.updated_at RETURNING " CHAT_PG_SUBJECT_COLS,
          Params().add(id).add(in.title).add(in.description).add(in.created_by).add(now));
      return read_subject(r, 0);
    });
  });
}

Result<Subject> Registries::get_subject(std::string_view id) {
  return db_.read<Subject>([&](Conn& r) { return load_subject(r, id); }, false);
}

Result<Profile> Registries::put_profile(const Profile& in, Timestamp now) {
  return db_.guarded<Profile>([&]() -> Result<Profile> {
    if (in.user_id.empty()) return Error::invalid("user_id", "user_id is required");
    Profile p;
    p.user_id = in.user_id;
    for (auto [src, dst, name] : {std::tuple{&in.work_history, &p.work_history, "work_history"},
                                  std::tuple{&in.education, &p.education, "education"},
                                  std::tuple{&in.projects, &p.projects, "projects"},
                                  std::tuple{&in.skills, &p.skills, "skills"}}) {
      CHAT_ASSIGN_OR_RETURN(*dst, detail::normalize_json_array(*src, name, kMaxProfileSectionBytes));
    }
    p.updated_at = now;
    return db_.write<Profile>([&](Conn& w) -> Result<Profile> {
      w.exec(
          "INSERT INTO profiles (user_id, work_history, education, projects, skills, created_at, updated_at) "
          "VALUES ($1,$2,$3,$4,$5,$6,$6) ON CONFLICT (user_id) DO UPDATE SET work_history = excluded.work_history, "
          "education = excluded.education, projects = excluded.projects, skills = excluded.skills, "
          "updated_at = excluded.updated_at",
          Params().add(p.user_id).add(p.work_history).add(p.education).add(p.projects).add(p.skills).add(now));
      return p;
    });
  });
}

Result<Profile> Registries::get_profile(std::string_view user_id) {
  return db_.read<Profile>(
      [&](Conn& c) -> Result<Profile> {
        if (never_stored(user_id)) return Error::not_found("profile not found");
        const Rows r = c.exec("SELECT " CHAT_PG_PROFILE_COLS " FROM profiles WHERE user_id = $1", Params().add(user_id));
        if (r.empty()) return Error::not_found("profile not found");
        return read_profile(r, 0);
      },
      false);
}

}  // namespace chat::pg
