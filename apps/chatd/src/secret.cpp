#include "secret.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstring>

namespace chatd {

namespace {

constexpr std::size_t kSecretBytes = 32;

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// Why `secret` is too weak to sign with, or empty when it is fine. A file of
// zero bytes left by a crash, or any control bytes (NUL acts as the end of
// the key in more than one JWT library), is not a secret even when it is
// long enough.
std::string weakness(std::string_view secret) {
  for (unsigned char c : secret) {
    if (c < 0x20 || c == 0x7f) return "it holds NUL or other control bytes";
  }
  if (!secret.empty() && secret.find_first_not_of(secret.front()) == std::string_view::npos)
    return "it is one byte repeated";
  return {};
}

chat::Error refused(const std::string& path, const std::string& why) {
  return chat::Error::permission_denied("refusing the JWT secret file " + path + ": " + why +
                                        " (delete it to have a new one created, or pass --jwt-secret)");
}

// The file must be a regular file of ours that nobody else can read or
// write: a planted or leaked file would let its author sign admin tokens.
chat::Status check_file(const std::string& path, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return refused(path, "it is a symbolic link");
  if (!S_ISREG(st.st_mode)) return refused(path, "it is not a regular file");
  // A second name for the file (a hard link made by someone who could read
  // it, or a link to another file of ours) is a copy we do not control.
  if (st.st_nlink != 1) return refused(path, "it has " + std::to_string(st.st_nlink) + " hard links");
  if (st.st_uid != ::geteuid())
    return refused(path, "it is owned by uid " + std::to_string(st.st_uid) + ", not by this server's user (uid " +
                             std::to_string(::geteuid()) + ")");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return refused(path, std::string("its mode is ") + mode + "; group and others must have no access (chmod 600)");
  }
  return {};
}

// Reads an existing secret file after checking it, without following a link
// (O_NOFOLLOW) and checking the descriptor it opened (no swap in between).
chat::Result<std::string> read_checked(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return chat::Error::unavailable("cannot read the JWT secret file " + path + ": " + std::strerror(errno));
  // A start racing us links its file into place and then removes its
  // temporary name: two links for a moment. Give it 200 ms before refusing.
  for (int tries = 0; S_ISREG(st.st_mode) && st.st_nlink == 2 && tries < 20; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (::lstat(path.c_str(), &st) != 0)
      return chat::Error::unavailable("cannot read the JWT secret file " + path + ": " + std::strerror(errno));
  }
  CHAT_RETURN_IF_ERROR(check_file(path, st));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    if (errno == ELOOP) return refused(path, "it is a symbolic link");
    return chat::Error::unavailable("cannot read the JWT secret file " + path + ": " + std::strerror(errno));
  }
  if (::fstat(fd, &st) != 0 || !check_file(path, st).ok()) {
    ::close(fd);
    return refused(path, "it changed while it was opened");
  }
  std::string out;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return chat::Error::unavailable("cannot read the JWT secret file " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 4096) break;  // a secret file is small; don't slurp a wrong path
  }
  ::close(fd);
  out = trim(std::move(out));
  if (out.empty()) return chat::Error::internal("the JWT secret file " + path + " is empty; delete it or pass --jwt-secret");
  if (out.size() < kMinSecretBytes)
    return refused(path, "the secret is " + std::to_string(out.size()) + " bytes, shorter than " +
                             std::to_string(kMinSecretBytes));
  if (const auto why = weakness(out); !why.empty()) return refused(path, "the secret is weak: " + why);
  return out;
}

// Writes `secret` to a fresh temporary file (0600) beside `path`, then links
// it into place: link(2) never replaces an existing file, so of two starts
// racing exactly one secret wins, and nobody ever reads a half-written file.
// Returns true when this call created `path`, false when it already existed.
chat::Result<bool> create_linked(const std::string& path, const std::string& secret) {
  auto suffix = random_secret_hex();
  if (!suffix) return std::move(suffix).error();
  const std::string tmp = path + ".tmp-" + suffix->substr(0, 16);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return chat::Error::unavailable("cannot create the JWT secret file " + path + ": " + std::strerror(errno));
  const std::string line = secret + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  int e = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return chat::Error::unavailable("cannot write the JWT secret file " + path + ": " + std::strerror(e));
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  e = errno;
  ::unlink(tmp.c_str());
  if (linked == 0) return true;
  if (e == EEXIST) return false;
  return chat::Error::unavailable("cannot create the JWT secret file " + path + ": " + std::strerror(e));
}

}  // namespace

std::string secret_path_for(const std::string& db) { return db + ".jwt-secret"; }

chat::Result<std::string> random_secret_hex() {
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return chat::Error::internal("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * kSecretBytes);
  for (unsigned char b : bytes) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0xF];
  }
  return hex;
}

chat::Result<JwtSecret> resolve_jwt_secret(const std::string& configured, const std::string& db) {
  JwtSecret out;
  if (!configured.empty()) {
    // Judged as a secret file's text is: surrounding white space is not secret.
    if (trim(configured).size() < kMinSecretBytes) {
      return chat::Error::invalid("--jwt-secret", "--jwt-secret: the secret is " + std::to_string(trim(configured).size()) +
                                                      " bytes; at least " + std::to_string(kMinSecretBytes) +
                                                      " are needed (e.g. openssl rand -hex 32)");
    }
    if (const auto why = weakness(trim(configured)); !why.empty())
      return chat::Error::invalid("--jwt-secret", "--jwt-secret: the secret is weak: " + why + " (e.g. openssl rand -hex 32)");
    out.secret = configured;
    out.from_config = true;
    return out;
  }
  if (db == ":memory:") {
    auto s = random_secret_hex();
    if (!s) return std::move(s).error();
    out.secret = std::move(*s);
    out.ephemeral = true;
    return out;
  }

  out.path = secret_path_for(db);
  struct stat st {};
  if (::lstat(out.path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return chat::Error::unavailable("cannot read the JWT secret file " + out.path + ": " + std::strerror(errno));
    auto s = random_secret_hex();
    if (!s) return std::move(s).error();
    CHAT_ASSIGN_OR_RETURN(const bool created, create_linked(out.path, *s));
    if (created) {
      out.secret = std::move(*s);
      out.created = true;
      return out;
    }
    // Another start linked its secret first: use that one.
  }
  CHAT_ASSIGN_OR_RETURN(out.secret, read_checked(out.path));
  return out;
}

}  // namespace chatd
