#include "endpoint.hpp"

#include "http_json.hpp"

namespace chatd {

void send(httplib::Response& res, const Reply& reply) {
  if (reply.text) {
    render_json_text(res, reply.status, *reply.text);
    return;
  }
  if (!reply.body) {
    res.status = reply.status;
    return;
  }
  render_json(res, reply.status, *reply.body);
}

const ErrorStyle& plain_errors() {
  static const ErrorStyle kPlain{};
  return kPlain;
}

Route fixed_json(int status, const nlohmann::json& body) {
  auto text = std::make_shared<const std::string>(body.dump());
  return Route{[status, text](const httplib::Request&, httplib::Response& res, const PathParams&,
                              const RequestScope&) { render_json_text(res, status, *text); },
               Access::kPublic};
}

}  // namespace chatd
