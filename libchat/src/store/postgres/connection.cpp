#include "store/postgres/connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

namespace chat::pg {

namespace {

// Server NOTICEs and WARNINGs are not the store's errors; libpq would print
// them on stderr, which belongs to the embedding program.
void ignore_notice(void*, const char*) {}

std::string message_of(const PGconn* c) {
  const char* m = PQerrorMessage(c);
  std::string s = m != nullptr ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Params& Params::add(double v) { return push(fmt::format("{:.17g}", v)); }

// ---- Rows

Rows::Rows(pg_result* r) : r_(r) {}
void Rows::Free::operator()(pg_result* r) const { PQclear(r); }

int Rows::size() const { return r_ ? PQntuples(r_.get()) : 0; }

std::int64_t Rows::affected() const {
  if (!r_) return 0;
  const char* n = PQcmdTuples(r_.get());
  return n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
}

bool Rows::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

std::string_view Rows::view(int row, int col) const {
  return std::string_view(PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}
std::string Rows::text(int row, int col) const { return std::string(view(row, col)); }

std::int64_t Rows::i64(int row, int col) const {
  const auto v = view(row, col);
  std::int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}
double Rows::f64(int row, int col) const { return std::strtod(PQgetvalue(r_.get(), row, col), nullptr); }
bool Rows::flag(int row, int col) const {
  const auto v = view(row, col);
  return !v.empty() && v != "0" && v != "f";
}
std::optional<std::int64_t> Rows::opt_i64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return i64(row, col);
}
std::optional<double> Rows::opt_f64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return f64(row, col);
}
std::optional<Timestamp> Rows::opt_time(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return from_millis(i64(row, col));
}

// ---- Conn

Conn::Conn(const std::string& conninfo, int connect_timeout_s) {
  // The caller's conninfo may be a URI or key=value pairs: both are passed
  // as "dbname", which libpq expands in place; a later key overrides an
  // earlier one. So the caller may rename the application and tune the
  // keepalives (which let a silently dropped connection, such as the
  // listener's, fail within about a minute instead of hours), while the
  // timeout and the encoding are the store's.
  const std::string timeout = std::to_string(connect_timeout_s < 1 ? 1 : connect_timeout_s);
  const char* keys[] = {"application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname", "connect_timeout", "client_encoding", nullptr};
  const char* values[] = {"libchat", "1", "30", "10", "3", conninfo.c_str(), timeout.c_str(), "UTF8", nullptr};
  c_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (c_ == nullptr) throw PgFailure("08000", "out of memory");
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string m = message_of(c_);
    PQfinish(c_);
    c_ = nullptr;
    throw PgFailure("08000", m);
  }
  PQsetNoticeProcessor(c_, &ignore_notice, nullptr);
}

Conn::~Conn() {
  if (c_ != nullptr) PQfinish(c_);
}

bool Conn::ok() const { return c_ != nullptr && PQstatus(c_) == CONNECTION_OK; }

void Conn::fail(pg_result* r) {
  std::string state;
  std::string constraint;
  std::string message;
  if (r != nullptr) {
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) state = s;
    if (const char* s = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME)) constraint = s;
    if (const char* s = PQresultErrorMessage(r)) message = s;
    PQclear(r);
  }
  if (message.empty()) message = message_of(c_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  // No SQLSTATE from a broken connection: classify it as one.
  if (state.empty() && PQstatus(c_) != CONNECTION_OK) state = "08006";
  throw PgFailure(state, message, constraint);
}

Rows Conn::exec(const std::string& sql, const Params& params) {
  if (params.holds_nul()) throw PgFailure("22P05", "a text parameter holds NUL");
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "chat_s" + std::to_string(prepared_.size() + 1);
    PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r);
    PQclear(r);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  const auto& v = params.values();
  std::vector<const char*> values(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) values[i] = v[i] ? v[i]->c_str() : nullptr;
  return finish(PQexecPrepared(c_, it->second.c_str(), static_cast<int>(v.size()), values.data(), nullptr, nullptr, 0));
}

Rows Conn::exec_unprepared(const std::string& sql, const Params& params) {
  if (params.holds_nul()) throw PgFailure("22P05", "a text parameter holds NUL");
  const auto& v = params.values();
  std::vector<const char*> values(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) values[i] = v[i] ? v[i]->c_str() : nullptr;
  return finish(PQexecParams(c_, sql.c_str(), static_cast<int>(v.size()), nullptr, values.data(), nullptr, nullptr, 0));
}

Rows Conn::finish(pg_result* r) {
  const auto st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) fail(r);
  return Rows(r);
}

void Conn::run(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  const auto st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) fail(r);
  PQclear(r);
}

std::optional<std::string> conninfo_error(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string m = err != nullptr ? err : "cannot parse the connection string";
    if (err != nullptr) PQfreemem(err);
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return m;
  }
  PQconninfoFree(opts);
  return std::nullopt;
}

}  // namespace chat::pg
