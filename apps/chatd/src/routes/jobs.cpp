// The jobs registry (DESIGN §4) that seeds 000 and 004 assume but do not
// document: POST /api/jobs/ and GET /api/jobs/<id>/, bearer token required.
// A job is a chat::Subject.
//
//   POST /api/jobs/ {"id"?: string | integer, "title": string, "description"?: string}
//     -> 201 {"id": "..."}            (id generated as a uuid v4 when absent)
//   GET /api/jobs/<id>/
//     -> 200 {"id", "title", "description", "created_by", "created_at", "updated_at"}
//
// Choices: an integer id is taken as its decimal string (seed 004 shows
// integer job ids). Re-posting an id follows the service's rule: its creator
// (or an admin) updates it (201 again); anyone else gets 409 naming "id".
// description may be omitted (empty).
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "http_errors.hpp"
#include "http_json.hpp"
#include "routes/routes.hpp"

namespace chatd {

void register_jobs_routes(Router& router, const RouteContext& ctx) {
  router.post("/api/jobs/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams&) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto body = parse_json_object(req);
    if (!body) return render_error(res, body.error());
    chat::Subject s;
    if (auto it = body->find("id"); it != body->end() && !it->is_null()) {
      const nlohmann::json& id = *it;
      if (id.is_number_integer()) {
        s.id = id.dump();
      } else if (const auto* text = id.get_ptr<const std::string*>(); text != nullptr && !text->empty()) {
        s.id = *text;
      } else {
        return render_error(res, chat::Error::invalid("id", "id: must be a non-empty string or an integer"));
      }
    }
    auto title = required_nonempty_string(*body, "title");
    if (!title) return render_error(res, title.error());
    s.title = std::move(*title);
    auto description = optional_string(*body, "description");
    if (!description) return render_error(res, description.error());
    if (*description) s.description = **description;
    auto saved = ctx.service.put_subject(*who, std::move(s));
    if (!saved) return render_error(res, saved.error());
    render_json(res, 201, {{"id", saved->id}});
  });

  router.get("/api/jobs/{id}/", [&ctx](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
    auto who = ctx.authenticate_required(req, res);
    if (!who) return;
    auto s = ctx.service.get_subject(*who, p.get("id"));
    if (!s) return render_error(res, s.error());
    render_json(res, 200,
                {{"id", s->id},
                 {"title", s->title},
                 {"description", s->description},
                 {"created_by", s->created_by},
                 {"created_at", chat::format_timestamp(s->created_at)},
                 {"updated_at", chat::format_timestamp(s->updated_at)}});
  });
}

}  // namespace chatd
