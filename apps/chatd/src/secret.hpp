// secret.hpp: the HS256 secret of the daemon when none is given.
//
// Without --jwt-secret / CHATD_JWT_SECRET, chatd keeps a random secret (32
// bytes from OpenSSL's RAND_bytes, as 64 hex characters) in a file beside the
// database, "<db>.jwt-secret", and reuses it after, so that tokens survive
// restarts and `chatd token` signs with the secret the server verifies with.
// With --db :memory: the secret is ephemeral: generated per process, and
// every token dies with the process.
//
// Whoever can write or plant that file can sign admin tokens (issue 9), so:
// - a new file is written to a temporary file (mode 0600) and linked into
//   place with link(2), which never replaces a file: two starts racing agree
//   on one secret, and nobody reads a half-written file;
// - an existing file is refused (kPermissionDenied, the message says why and
//   what to do) when it is a symbolic link, not a regular file, has another
//   hard link, is not owned by the server's effective user, or has any
//   group/other permission bit; it is
//   opened with O_NOFOLLOW and checked again through the descriptor;
// - a secret shorter than kMinSecretBytes, holding NUL or other control
//   bytes, or one byte repeated (a zero-filled file after a crash) is
//   refused, from the file (kPermissionDenied) or from --jwt-secret
//   (kInvalidArgument "--jwt-secret").
#pragma once

#include <cstddef>
#include <string>

#include "chat/result.hpp"

namespace chatd {

// The shortest HS256 secret accepted (RFC 7518 3.2: at least the hash size, 256 bits).
inline constexpr std::size_t kMinSecretBytes = 32;

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
// file beside `db` (read, or created). Fails with kInvalidArgument for a short
// configured secret, kPermissionDenied for a file refused above, kUnavailable
// when the file cannot be created or read, kInternal when it exists but is empty.
chat::Result<JwtSecret> resolve_jwt_secret(const std::string& configured, const std::string& db);

}  // namespace chatd
