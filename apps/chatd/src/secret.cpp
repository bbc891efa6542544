#include "secret.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace chatd {

namespace {

constexpr std::size_t kSecretBytes = 32;

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

chat::Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return chat::Error::unavailable("cannot read the JWT secret file " + path + ": " + std::strerror(errno));
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
  return trim(std::move(out));
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
  // Create it exclusively; if it exists (or another process just created it), read it.
  int fd = ::open(out.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    auto s = random_secret_hex();
    if (!s) {
      ::close(fd);
      ::unlink(out.path.c_str());
      return std::move(s).error();
    }
    std::string line = *s + "\n";
    bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    int e = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(out.path.c_str());
      return chat::Error::unavailable("cannot write the JWT secret file " + out.path + ": " + std::strerror(e));
    }
    out.secret = std::move(*s);
    out.created = true;
    return out;
  }
  if (errno != EEXIST) {
    return chat::Error::unavailable("cannot create the JWT secret file " + out.path + ": " + std::strerror(errno));
  }
  // Another process may have created the file a moment ago and not written it
  // yet: give it a little time before calling an empty file an error.
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto s = read_file(out.path);
    if (!s) return std::move(s).error();
    if (!s->empty()) {
      out.secret = std::move(*s);
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return chat::Error::internal("the JWT secret file " + out.path + " is empty; delete it or pass --jwt-secret");
}

}  // namespace chatd
