#include "routes/registry_requests.hpp"

#include <httplib.h>

#include "http_json.hpp"
#include "routes/shapes.hpp"

namespace chatd {

chat::Result<ListAgentsRequest> parse_list_agents(const httplib::Request& req, const PathParams&,
                                                  const chat::ServiceLimits& limits) {
  CHAT_ASSIGN_OR_RETURN(auto page, parse_page(req, {limits.max_page, limits.max_page}));
  return ListAgentsRequest{page};
}

chat::Result<PutAgentRequest> parse_put_agent(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  CHAT_ASSIGN_OR_RETURN(auto id, optional_int64(body, "id"));
  PutAgentRequest out;
  auto& a = out.agent;
  CHAT_ASSIGN_OR_RETURN(a.name, required_nonempty_string(body, "name"));
  CHAT_ASSIGN_OR_RETURN(auto prompt, optional_string(body, "system_prompt"));
  CHAT_ASSIGN_OR_RETURN(auto model, optional_string(body, "model"));
  if (id && *id <= 0) return chat::Error::invalid("id", "id: must be a positive integer");
  a.id = id.value_or(0);
  a.system_prompt = prompt.value_or("");
  a.model = model.value_or("");
  return out;
}

chat::Result<GetAgentRequest> parse_get_agent(const httplib::Request&, const PathParams& p) {
  auto id = parse_int64(p.get("id"));
  if (!id) return chat::Error::not_found("agent not found");
  return GetAgentRequest{*id};
}

chat::Result<PutJobRequest> parse_put_job(const httplib::Request& req, const PathParams&) {
  CHAT_ASSIGN_OR_RETURN(auto body, parse_json_object(req));
  PutJobRequest out;
  auto& s = out.job;
  CHAT_ASSIGN_OR_RETURN(auto id, optional_string_or_integer(body, "id", "must be a non-empty string or an integer"));
  if (id) s.id = std::move(*id);
  CHAT_ASSIGN_OR_RETURN(s.title, required_nonempty_string(body, "title"));
  CHAT_ASSIGN_OR_RETURN(auto description, optional_string(body, "description"));
  if (description) s.description = std::move(*description);
  return out;
}

chat::Result<GetJobRequest> parse_get_job(const httplib::Request&, const PathParams& p) {
  return GetJobRequest{std::string(p.get("id"))};
}

}  // namespace chatd
