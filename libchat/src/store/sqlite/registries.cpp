#include "store/sqlite/registries.hpp"

#include <string>
#include <tuple>
#include <utility>

#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "store/sqlite/rows.hpp"

namespace chat::sqlite {

namespace {

Result<Agent> load_agent(Conn& c, std::int64_t id) {
  auto s = c.prepare_static("SELECT " CHAT_AGENT_COLS " FROM agents WHERE id = ?");
  s->bind(1, id);
  if (!s->executeStep()) return Error::not_found("agent not found");
  return read_agent(*s);
}

Result<Subject> load_subject(Conn& c, const std::string& id) {
  auto s = c.prepare_static("SELECT " CHAT_SUBJECT_COLS " FROM subjects WHERE id = ?");
  s->bind(1, id);
  if (!s->executeStep()) return Error::not_found("subject not found");
  return read_subject(*s);
}

}  // namespace

Result<Agent> Registries::put_agent(const Agent& a, Timestamp now) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Agent>([&]() -> Result<Agent> {
    if (a.name.empty()) return Error::invalid("name", "name is required");
    if (a.id < 0) return Error::invalid("id", "id must not be negative");
    return db_.write<Agent>([&](Conn& w) -> Result<Agent> {
      std::int64_t id = a.id;
      if (id == 0) {
        auto s = w.prepare_static(
            "INSERT INTO agents (name, system_prompt, model, created_at, updated_at) VALUES (?,?,?,?,?)");
        s->bind(1, a.name);
        s->bind(2, a.system_prompt);
        s->bind(3, a.model);
        s->bind(4, to_millis(now));
        s->bind(5, to_millis(now));
        s->exec();
        id = w.db().getLastInsertRowid();
      } else {
        auto s = w.prepare_static(
            "INSERT INTO agents (id, name, system_prompt, model, created_at, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, system_prompt = excluded.system_prompt, "
            "model = excluded.model, updated_at = excluded.updated_at");
        s->bind(1, id);
        s->bind(2, a.name);
        s->bind(3, a.system_prompt);
        s->bind(4, a.model);
        s->bind(5, to_millis(now));
        s->bind(6, to_millis(now));
        s->exec();
      }
      return load_agent(w, id);
    });
  });
}

Result<Agent> Registries::get_agent(std::int64_t id) {
  return db_.read<Agent>([&](Conn& r) { return load_agent(r, id); });
}

Result<std::vector<Agent>> Registries::list_agents() {
  return db_.read<std::vector<Agent>>([&](Conn& r) -> Result<std::vector<Agent>> {
    auto s = r.prepare_static("SELECT " CHAT_AGENT_COLS " FROM agents ORDER BY id");
    std::vector<Agent> out;
    while (s->executeStep()) out.push_back(read_agent(*s));
    return out;
  });
}

Result<Subject> Registries::put_subject(const Subject& in, Timestamp now) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Subject>([&]() -> Result<Subject> {
    const std::string id = in.id.empty() ? generate_uuid_v4() : in.id;
    return db_.write<Subject>([&](Conn& w) -> Result<Subject> {
      auto s = w.prepare_static(
          "INSERT INTO subjects (id, title, description, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?) "
          "ON CONFLICT(id) DO UPDATE SET title = excluded.title, description = excluded.description, "
          "updated_at = excluded.updated_at");
      s->bind(1, id);
      s->bind(2, in.title);
      s->bind(3, in.description);
      s->bind(4, in.created_by);
      s->bind(5, to_millis(now));
      s->bind(6, to_millis(now));
      s->exec();
      return load_subject(w, id);
    });
  });
}

Result<Subject> Registries::get_subject(std::string_view id) {
  return db_.read<Subject>([&](Conn& r) { return load_subject(r, std::string(id)); });
}

Result<Profile> Registries::put_profile(const Profile& in, Timestamp now) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
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
      auto s = w.prepare_static(
          "INSERT INTO profiles (user_id, work_history, education, projects, skills, created_at, updated_at) "
          "VALUES (?,?,?,?,?,?,?) ON CONFLICT(user_id) DO UPDATE SET work_history = excluded.work_history, "
          "education = excluded.education, projects = excluded.projects, skills = excluded.skills, "
          "updated_at = excluded.updated_at");
      s->bind(1, p.user_id);
      s->bind(2, p.work_history);
      s->bind(3, p.education);
      s->bind(4, p.projects);
      s->bind(5, p.skills);
      s->bind(6, to_millis(now));
      s->bind(7, to_millis(now));
      s->exec();
      return p;
    });
  });
}

Result<Profile> Registries::get_profile(std::string_view user_id) {
  return db_.read<Profile>([&](Conn& r) -> Result<Profile> {
    auto s = r.prepare_static("SELECT " CHAT_PROFILE_COLS " FROM profiles WHERE user_id = ?");
    s->bind(1, std::string(user_id));
    if (!s->executeStep()) return Error::not_found("profile not found");
    return read_profile(*s);
  });
}

}  // namespace chat::sqlite
