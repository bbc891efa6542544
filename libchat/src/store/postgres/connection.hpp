// One PostgreSQL connection (libpq) and its statements: RAII for PGconn and
// PGresult, statements prepared lazily on first use and cached by their SQL
// text (one server-side name each), parameters and results as text.
// Private to libchat. A Conn is used by one thread at a time (Database hands
// it out); nothing here locks.
//
// Errors: exec() throws PgFailure, which Database turns into a domain error
// (database.hpp); nothing else in the store sees libpq's error states.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chat/time.hpp"

struct pg_conn;
struct pg_result;

namespace chat::pg {

// A failed statement: SQLSTATE (five characters, "" when the connection is
// gone and none came back), the server's message (may hold SQL: logged,
// never returned), and the constraint a violation names.
class PgFailure : public std::runtime_error {
 public:
  PgFailure(std::string sqlstate, const std::string& message, std::string constraint = {})
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)), constraint_(std::move(constraint)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& constraint() const { return constraint_; }

 private:
  std::string sqlstate_;
  std::string constraint_;
};

// Statement parameters, in order ($1, $2, ...), as text; nullopt is NULL.
class Params {
 public:
  Params& add(std::int64_t v) { return push(std::to_string(v)); }
  Params& add(int v) { return push(std::to_string(v)); }
  Params& add(bool v) { return push(v ? "1" : "0"); }
  Params& add(double v);
  Params& add(std::string_view v) { return push(std::string(v)); }
  Params& add(const std::string& v) { return push(v); }
  Params& add(const char* v) { return push(std::string(v)); }
  Params& add(Timestamp t) { return add(to_millis(t)); }
  Params& null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  template <typename T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : null();
  }
  // Empty text as NULL, where uniqueness must ignore absent values.
  Params& text_or_null(const std::string& v) { return v.empty() ? null() : add(v); }
  std::size_t size() const { return values_.size(); }
  // PostgreSQL text cannot hold NUL: exec refuses such a parameter (22P05)
  // rather than letting libpq cut it short.
  bool holds_nul() const { return nul_; }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  Params& push(std::string v) {
    nul_ = nul_ || v.find('\0') != std::string::npos;
    values_.emplace_back(std::move(v));
    return *this;
  }
  std::vector<std::optional<std::string>> values_;
  bool nul_ = false;
};

// A result set (or a command's outcome); rows and columns from 0.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* r);
  Rows(Rows&&) noexcept = default;
  Rows& operator=(Rows&&) noexcept = default;

  int size() const;
  bool empty() const { return size() == 0; }
  std::int64_t affected() const;  // rows an INSERT / UPDATE / DELETE touched
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  std::string_view view(int row, int col) const;
  std::int64_t i64(int row, int col) const;
  double f64(int row, int col) const;
  bool flag(int row, int col) const;  // 0/1 integers and booleans
  std::optional<std::int64_t> opt_i64(int row, int col) const;
  std::optional<double> opt_f64(int row, int col) const;
  std::optional<Timestamp> opt_time(int row, int col) const;
  Timestamp time(int row, int col) const { return from_millis(i64(row, col)); }

 private:
  struct Free {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Free> r_;
};

class Conn {
 public:
  // Connects; throws PgFailure (sqlstate "08000") with libpq's message when
  // the server cannot be reached or refuses the login.
  Conn(const std::string& conninfo, int connect_timeout_s);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs `sql` with `params`: prepared once per connection (by text), then
  // executed. Throws PgFailure.
  Rows exec(const std::string& sql, const Params& params = {});
  // Runs `sql` with `params` unprepared (statements that cannot be
  // prepared, such as DECLARE CURSOR). Throws PgFailure.
  Rows exec_unprepared(const std::string& sql, const Params& params);
  // Runs SQL without parameters and without preparing (BEGIN, migrations).
  void run(const std::string& sql);
  bool ok() const;  // the connection is usable (not broken)
  // The id of the Store object this connection works for (the sender of its
  // notices: notices.hpp).
  const std::string& instance() const { return instance_; }
  void set_instance(std::string id) { instance_ = std::move(id); }
  pg_conn* raw() { return c_; }

 private:
  [[noreturn]] void fail(pg_result* r);
  Rows finish(pg_result* r);

  pg_conn* c_ = nullptr;
  std::string instance_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
};

// The parameters of a libpq conninfo string, or why it does not parse.
// Checks syntax only (PQconninfoParse): nothing is connected.
std::optional<std::string> conninfo_error(const std::string& conninfo);

}  // namespace chat::pg
