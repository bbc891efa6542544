// token_command.hpp: `chatd token --sub USER_ID [--role R] [--ttl S] [--db PATH] [--jwt-secret S]`.
#pragma once

#include <string>

#include "chat/result.hpp"
#include "chat/time.hpp"
#include "config.hpp"

namespace chatd {

struct IssuedToken {
  std::string token;
  std::string created_secret_file;  // non-empty when this call created "<db>.jwt-secret"
};

// Signs a token for `request` with the secret the server would use for
// `config` (--jwt-secret, else the file beside --db, created if missing).
// Fails with kInvalidArgument for --db :memory: without --jwt-secret (that
// secret lives only inside the server process).
chat::Result<IssuedToken> issue_token(const Config& config, const TokenRequest& request,
                                      std::shared_ptr<const chat::Clock> clock);

}  // namespace chatd
