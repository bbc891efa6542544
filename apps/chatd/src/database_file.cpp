#include "database_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace chatd {

namespace {

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

chat::Error refused(const std::string& path, const std::string& why, const std::string& fix) {
  return chat::Error::permission_denied("refusing the database file " + path + ": " + why + " (" + fix + ")");
}

// Adds a warning to `warnings` or fails; a missing file is fine.
chat::Status check_one(const std::string& path, std::vector<std::string>& warnings) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return chat::Error::unavailable("cannot inspect the database file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return refused(path, "it is not a regular file", "remove it or choose another --db");
  if (st.st_uid != ::geteuid()) {
    return refused(path,
                   "it is owned by uid " + std::to_string(st.st_uid) + ", not by this server's user (uid " +
                       std::to_string(::geteuid()) + ")",
                   "chown it to the server's user if it is yours");
  }
  if ((st.st_mode & 022) != 0) {
    return refused(path, "its mode is " + octal_mode(st.st_mode) + ": group or others can write it",
                   "chmod 600 it if it is yours");
  }
  if ((st.st_mode & 044) != 0) {
    warnings.push_back("the database file " + path + " is readable by group or others (mode " +
                       octal_mode(st.st_mode) + "); chmod 600 it to keep the chats private");
  }
  return {};
}

}  // namespace

chat::Result<std::vector<std::string>> check_database_file(const std::string& db) {
  std::vector<std::string> warnings;
  if (db == ":memory:") return warnings;
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
    CHAT_RETURN_IF_ERROR(check_one(db + suffix, warnings));
  }
  return warnings;
}

}  // namespace chatd
