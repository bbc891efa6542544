#include "database_url.hpp"

#include <libpq-fe.h>

#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

namespace chatd {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool is_url(std::string_view db) {
  return starts_with_nocase(db, "postgresql://") || starts_with_nocase(db, "postgres://");
}

bool is_key_value(std::string_view db) {
  static constexpr std::array<std::string_view, 10> kKeywords = {
      "host", "hostaddr", "port", "dbname", "user", "service", "sslmode", "connect_timeout", "application_name",
      "options"};
  std::size_t i = 0;
  while (i < db.size() && (db[i] == ' ' || db[i] == '\t')) ++i;
  std::size_t end = i;
  while (end < db.size() && (std::isalnum(static_cast<unsigned char>(db[end])) || db[end] == '_')) ++end;
  std::size_t eq = end;
  while (eq < db.size() && (db[eq] == ' ' || db[eq] == '\t')) ++eq;
  if (eq >= db.size() || db[eq] != '=') return false;
  const std::string_view word = db.substr(i, end - i);
  for (std::string_view k : kKeywords) {
    if (word == k) return true;
  }
  return false;
}

// Whether libpq, parsing `db` exactly as it will when connecting (URI
// percent-decoding, key=value quoting, every spelling of a key), finds a
// password or an SSL key's password in it. nullopt: libpq cannot parse it.
// libpq's own parser, not ours: a hand-written one was bypassed by
// "?pass%77ord=..." (a black-box test, issue 13).
std::optional<bool> holds_secret(std::string_view db) {
  const std::string text(db);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  if (error != nullptr) PQfreemem(error);  // may quote the string: never shown
  if (options == nullptr) return std::nullopt;
  bool secret = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key(o->keyword);
    if (key == "password" || key == "sslpassword") secret = true;
  }
  PQconninfoFree(options);
  return secret;
}

}  // namespace

bool is_postgres_db(std::string_view db) noexcept { return is_url(db) || is_key_value(db); }

chat::Status check_postgres_db(std::string_view where, std::string_view db) {
  const auto secret = holds_secret(db);
  if (!secret) {
    return chat::Error::invalid(std::string(where), std::string(where) +
                                                        ": not a PostgreSQL connection string libpq can parse "
                                                        "(postgresql://USER@HOST:PORT/DBNAME or key=value pairs; "
                                                        "a password goes in PGPASSWORD or a PGPASSFILE)");
  }
  if (!*secret) return {};
  std::string m(where);
  m += ": the PostgreSQL connection string holds a password, which would show in `ps`, in logs and in unit "
       "files; remove it and give the password through PGPASSWORD or a PGPASSFILE (default ~/.pgpass), "
       "which libpq reads";
  return chat::Error::invalid(std::string(where), std::move(m));
}

std::string display_db(std::string_view db) {
  if (!is_postgres_db(db)) return std::string(db);
  const auto secret = holds_secret(db);
  if (secret && !*secret) return std::string(db);
  // Never accepted by chatd; withheld whole rather than masked piecewise.
  return secret ? "(a PostgreSQL connection string holding a password, withheld)"
                : "(a PostgreSQL connection string libpq cannot parse, withheld)";
}

}  // namespace chatd
