#include "token_command.hpp"

#include "auth.hpp"
#include "secret.hpp"

namespace chatd {

chat::Result<IssuedToken> issue_token(const Config& config, const TokenRequest& request,
                                      std::shared_ptr<const chat::Clock> clock) {
  if (config.jwt_secret.empty() && config.db == ":memory:") {
    return chat::Error::invalid("--jwt-secret",
                                "token: with --db :memory: the server's secret lives only in its process; "
                                "pass --jwt-secret");
  }
  auto secret = resolve_jwt_secret(config.jwt_secret, config.db);
  if (!secret) return std::move(secret).error();
  JwtTokens tokens(secret->secret, std::move(clock));
  auto token = tokens.issue(chat::Principal{request.sub, request.role}, request.ttl);
  if (!token) return std::move(token).error();
  IssuedToken out;
  out.token = std::move(*token);
  if (secret->created) out.created_secret_file = secret->path;
  return out;
}

}  // namespace chatd
