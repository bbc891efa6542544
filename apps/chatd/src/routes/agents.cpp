// The agents registry (DESIGN §4): AI personas that seed 003 names by agent_id.
//
//   POST /api/agents/        {"id"?: int, "name", "system_prompt"?, "model"?} -> 201 {"id": n}  (role admin;
//                            an id that exists is updated in place)
//   GET  /api/agents/[?limit&offset]  {"items": [agent...], "count": n}                          (any token)
//                            by id; limit 1..1000 (ServiceOptions::max_page), default 1000; count is the
//                            number of agents in all, the next page is offset + limit
//   GET  /api/agents/{id}/   agent: {"id","name","system_prompt","model","created_at","updated_at"}
//                            system_prompt is the persona's prompt for admin tokens, null for any other
//                            (a persona's prompt is operator configuration: ChatService::get_agent)
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "endpoint.hpp"
#include "routes/registry_requests.hpp"
#include "routes/routes.hpp"
#include "routes/shapes.hpp"

namespace chatd {

namespace {

using nlohmann::json;

json agent_json(const chat::Agent& a) {
  return {{"id", a.id},
          {"name", a.name},
          // Admins only (libchat's rule); everyone else gets null.
          {"system_prompt", a.system_prompt_hidden ? json(nullptr) : json(a.system_prompt)},
          {"model", a.model},
          {"created_at", chat::format_timestamp(a.created_at)},
          {"updated_at", chat::format_timestamp(a.updated_at)}};
}

chat::Result<chat::Agent> put_agent(const RouteContext& ctx, const chat::Principal& who, PutAgentRequest& in) {
  return ctx.service.put_agent(who, std::move(in.agent));
}
Reply render_put(const PutAgentRequest&, const chat::Agent& a) { return Reply::created({{"id", a.id}}); }

// The registry is written by admins and read whole by the service; the
// answer is one page of it.
chat::Result<std::vector<chat::Agent>> list_agents(const RouteContext& ctx, const chat::Principal& who,
                                                   ListAgentsRequest&) {
  return ctx.service.list_agents(who);
}
Reply render_agents(const ListAgentsRequest& in, const std::vector<chat::Agent>& agents) {
  json items = json::array();
  for (const auto& a : page_of(agents, in.page)) items.push_back(agent_json(a));
  return Reply::ok(items_count(std::move(items), static_cast<std::int64_t>(agents.size())));
}

chat::Result<chat::Agent> get_agent(const RouteContext& ctx, const chat::Principal& who, GetAgentRequest& in) {
  return ctx.service.get_agent(who, in.id);
}
Reply render_agent(const GetAgentRequest&, const chat::Agent& a) { return Reply::ok(agent_json(a)); }

}  // namespace

void register_agent_routes(Router& router, const RouteContext& ctx) {
  const auto& errors = plain_errors();
  router.post("/api/agents/", endpoint(ctx, Access::kAdmin, errors, parse_put_agent, put_agent, render_put));
  router.get("/api/agents/", endpoint(ctx, Access::kUser, errors, parse_list_agents, list_agents, render_agents));
  router.get("/api/agents/{id}/", endpoint(ctx, Access::kUser, errors, parse_get_agent, get_agent, render_agent));
}

}  // namespace chatd
