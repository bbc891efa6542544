// routes/registry_requests.hpp: the requests of the registries the seeds
// assume: agents (AI personas that seed 003 names by agent_id) and jobs
// (chat::Subject, read by seeds 000 and 004). One struct and one pure parse
// function per route.
#pragma once

#include <cstdint>

#include "chat/result.hpp"
#include "chat/service.hpp"
#include "router.hpp"
#include "routes/shapes.hpp"

namespace httplib {
struct Request;
}

namespace chatd {

// POST /api/agents/ {"id"?: positive int, "name", "system_prompt"?, "model"?}
struct PutAgentRequest {
  chat::Agent agent;  // id 0: a new one
};
chat::Result<PutAgentRequest> parse_put_agent(const httplib::Request& req, const PathParams& p);

// GET /api/agents/?limit&offset: limit 1..max_page, default max_page (1000).
struct ListAgentsRequest {
  PageParams page;
};
chat::Result<ListAgentsRequest> parse_list_agents(const httplib::Request& req, const PathParams& p,
                                                  const chat::ServiceLimits& limits);

// GET /api/agents/{id}/ (an id that is not an integer names no agent: 404)
struct GetAgentRequest {
  std::int64_t id = 0;
};
chat::Result<GetAgentRequest> parse_get_agent(const httplib::Request& req, const PathParams& p);

// POST /api/jobs/ {"id"?: string | integer (its decimal digits), "title", "description"?}
struct PutJobRequest {
  chat::Subject job;  // id empty: generated
};
chat::Result<PutJobRequest> parse_put_job(const httplib::Request& req, const PathParams& p);

// GET /api/jobs/{id}/
struct GetJobRequest {
  std::string id;
};
chat::Result<GetJobRequest> parse_get_job(const httplib::Request& req, const PathParams& p);

}  // namespace chatd
