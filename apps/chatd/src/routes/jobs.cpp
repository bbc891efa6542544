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

#include "endpoint.hpp"
#include "routes/registry_requests.hpp"
#include "routes/routes.hpp"

namespace chatd {

namespace {

chat::Result<chat::Subject> put_job(const RouteContext& ctx, const chat::Principal& who, PutJobRequest& in) {
  return ctx.service.put_subject(who, std::move(in.job));
}
Reply render_put(const PutJobRequest&, const chat::Subject& s) { return Reply::created({{"id", s.id}}); }

chat::Result<chat::Subject> get_job(const RouteContext& ctx, const chat::Principal& who, GetJobRequest& in) {
  return ctx.service.get_subject(who, in.id);
}
Reply render_job(const GetJobRequest&, const chat::Subject& s) {
  return Reply::ok({{"id", s.id},
                    {"title", s.title},
                    {"description", s.description},
                    {"created_by", s.created_by},
                    {"created_at", chat::format_timestamp(s.created_at)},
                    {"updated_at", chat::format_timestamp(s.updated_at)}});
}

}  // namespace

void register_jobs_routes(Router& router, const RouteContext& ctx) {
  const auto& errors = plain_errors();
  router.post("/api/jobs/", endpoint(ctx, Access::kUser, errors, parse_put_job, put_job, render_put));
  router.get("/api/jobs/{id}/", endpoint(ctx, Access::kUser, errors, parse_get_job, get_job, render_job));
}

}  // namespace chatd
