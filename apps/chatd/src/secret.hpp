// secret.hpp: the HS256 secret of the daemon when none is given.
//
// Without --jwt-secret / CHATD_JWT_SECRET, chatd keeps a random secret (32
// bytes from OpenSSL's RAND_bytes, as 64 hex characters) in a file beside the
// database, "<db>.jwt-secret", created with mode 0600 on first start (O_EXCL,
// so two processes starting together agree on one secret) and reused after,
// so that tokens survive restarts and `chatd token` signs with the secret the
// server verifies with. With --db :memory: the secret is ephemeral: generated
// per process, and every token dies with the process.
#pragma once

#include <string>

#include "chat/result.hpp"

namespace chatd {

struct JwtSecret {
  std::string secret;
  std::string path;        // the file it came from; empty for ephemeral and configured secrets
  bool created = false;    // the file was created by this call
  bool ephemeral = false;  // lives only in this process
  bool from_config = false;
};

// "<db>.jwt-secret".
std::string secret_path_for(const std::string& db);

// 32 random bytes as 64 lower-case hex characters.
chat::Result<std::string> random_secret_hex();

// The configured secret if non-empty; else ephemeral for ":memory:"; else the
// file beside `db` (read, or created). Fails with kUnavailable when the file
// cannot be created or read, kInternal when it exists but is empty.
chat::Result<JwtSecret> resolve_jwt_secret(const std::string& configured, const std::string& db);

}  // namespace chatd
