// The agents registry (DESIGN §4): AI personas that seed 003 names by agent_id.
//
//   POST /api/agents/        {"id"?: int, "name", "system_prompt"?, "model"?} -> 201 {"id": n}  (role admin;
//                            an id that exists is updated in place)
//   GET  /api/agents/        {"items": [agent...], "count": n}                                   (any token)
//   GET  /api/agents/{id}/   agent: {"id","name","system_prompt","model","created_at","updated_at"}
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {

namespace {

nlohmann::json agent_json(const chat::Agent& a) {
  return {{"id", a.id},
          {"name", a.name},
          {"system_prompt", a.system_prompt},
          {"model", a.model},
          {"created_at", chat::format_timestamp(a.created_at)},
          {"updated_at", chat::format_timestamp(a.updated_at)}};
}

}  // namespace

void register_agent_routes(Router& router, const RouteContext& ctx) {
  router.post("/api/agents/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res, chat::PrincipalRole::kAdmin);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    auto id = optional_int64(*body, "id");
    if (!id) return render_error(res, id.error());
    auto name = required_nonempty_string(*body, "name");
    if (!name) return render_error(res, name.error());
    auto prompt = optional_string(*body, "system_prompt");
    if (!prompt) return render_error(res, prompt.error());
    auto model = optional_string(*body, "model");
    if (!model) return render_error(res, model.error());
    if (*id && **id <= 0) return render_error(res, chat::Error::invalid("id", "id: must be a positive integer"));
    chat::Agent a;
    a.id = id->value_or(0);
    a.name = std::move(*name);
    a.system_prompt = prompt->value_or("");
    a.model = model->value_or("");
    auto stored = ctx.service.put_agent(*who, std::move(a));
    if (!stored) return render_error(res, stored.error());
    render_json(res, 201, {{"id", stored->id}});
  });

  router.get("/api/agents/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto agents = ctx.service.list_agents(*who);
    if (!agents) return render_error(res, agents.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& a : *agents) items.push_back(agent_json(a));
    render_json(res, 200, {{"items", std::move(items)}, {"count", agents->size()}});
  });

  router.get("/api/agents/{id}/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto id = parse_int64(p.get("id"));
    if (!id) return render_error(res, chat::Error::not_found("agent not found"));
    auto a = ctx.service.get_agent(*who, *id);
    if (!a) return render_error(res, a.error());
    render_json(res, 200, agent_json(*a));
  });
}

}  // namespace chatd
