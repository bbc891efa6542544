#include "database_url.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>
#include <vector>

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

// [begin, end) of the password in a URL's user info, or npos.
std::pair<std::size_t, std::size_t> url_password(std::string_view db) {
  const std::size_t start = db.find("://") + 3;
  std::size_t stop = db.find_first_of("/?", start);
  if (stop == std::string_view::npos) stop = db.size();
  const std::size_t at = db.rfind('@', stop);
  if (at == std::string_view::npos || at < start) return {std::string_view::npos, 0};
  const std::size_t colon = db.find(':', start);
  if (colon == std::string_view::npos || colon > at) return {std::string_view::npos, 0};
  return {colon + 1, at};
}

// Positions of the values of "password=" parameters (URL query, or key=value).
template <typename F>
void each_password_parameter(std::string_view db, F&& f) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t found = std::string_view::npos;
    for (std::size_t i = pos; i + 8 <= db.size(); ++i) {
      if (starts_with_nocase(db.substr(i), "password")) {
        found = i;
        break;
      }
    }
    if (found == std::string_view::npos) return;
    std::size_t j = found + 8;
    const bool word_start = found == 0 || db[found - 1] == '?' || db[found - 1] == '&' || db[found - 1] == ' ' ||
                            db[found - 1] == '\t';
    while (j < db.size() && (db[j] == ' ' || db[j] == '\t')) ++j;
    if (word_start && j < db.size() && db[j] == '=') {
      ++j;
      std::size_t end = j;
      while (end < db.size() && db[end] != '&' && db[end] != ' ' && db[end] != '\t') ++end;
      f(j, end);
      pos = end;
    } else {
      pos = found + 8;
    }
  }
}

}  // namespace

bool is_postgres_db(std::string_view db) noexcept { return is_url(db) || is_key_value(db); }

chat::Status check_postgres_db(std::string_view where, std::string_view db) {
  bool has_password = false;
  if (is_url(db)) has_password = url_password(db).first != std::string_view::npos;
  each_password_parameter(db, [&](std::size_t, std::size_t) { has_password = true; });
  if (!has_password) return {};
  std::string m(where);
  m += ": the PostgreSQL connection string holds a password, which would show in `ps`, in logs and in unit "
       "files; remove it and give the password through PGPASSWORD or a PGPASSFILE (default ~/.pgpass), "
       "which libpq reads";
  return chat::Error::invalid(std::string(where), std::move(m));
}

std::string display_db(std::string_view db) {
  std::string out(db);
  if (!is_postgres_db(db)) return out;
  // Masked from the back, so earlier positions stay valid.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (is_url(db)) {
    auto p = url_password(db);
    if (p.first != std::string_view::npos) spans.push_back(p);
  }
  each_password_parameter(db, [&](std::size_t b, std::size_t e) { spans.emplace_back(b, e); });
  std::sort(spans.begin(), spans.end());
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) out.replace(it->first, it->second - it->first, "***");
  return out;
}

}  // namespace chatd
