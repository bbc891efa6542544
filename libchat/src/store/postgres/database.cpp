#include "store/postgres/database.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "store/postgres/schema.hpp"

namespace chat::pg {

namespace {

std::string random_instance_id() {
  std::random_device rd;
  const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", v);
}

int seconds_ceil(std::chrono::milliseconds ms) {
  return static_cast<int>(std::max<std::int64_t>(1, (ms.count() + 999) / 1000));
}

// The field a unique constraint guards (schema.cpp names them).
std::string field_of(const std::string& constraint) {
  if (constraint.find("handle") != std::string::npos) return "handle";
  if (constraint.find("client_id") != std::string::npos) return "client_id";
  if (constraint.find("uuid") != std::string::npos) return "uuid";
  if (constraint.find("pkey") != std::string::npos) return "id";
  return "";
}

}  // namespace

Database::Database(const PostgresOptions& options)
    : options_(options), instance_id_(random_instance_id()), capacity_(std::max(1, options.connections)) {}

Database::~Database() = default;

void Database::log(LogLevel level, const std::string& message) const {
  if (options_.logger) options_.logger->log(level, message);
}

std::unique_ptr<Conn> Database::connect() const {
  return std::make_unique<Conn>(options_.conninfo, seconds_ceil(options_.connect_timeout));
}

Status Database::open() {
  try {
    Lease lease(*this);
    if (!lease) return Error::unavailable("no database connection is free");
    return guarded<void>([&]() -> Status {
      return migrate_postgres_schema(lease.conn(), [this](LogLevel l, const std::string& m) { log(l, m); });
    });
  } catch (const PgFailure& e) {
    // libpq's reason (host, port, "password authentication failed", ...)
    // names no password: it helps the operator and is returned.
    log(LogLevel::kError, std::string("postgres store: cannot connect: ") + e.what());
    return Error::unavailable(std::string("cannot connect to the database: ") + e.what());
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("postgres store: ") + e.what());
    return Error::internal("storage failure");
  }
}

Result<std::int64_t> Database::head_id(const char* sql) {
  return read<std::int64_t>(
      [&](Conn& c) -> Result<std::int64_t> {
        c.run("BEGIN");
        try {
          c.exec("SELECT pg_advisory_xact_lock($1)", Params().add(kIdBarrierLock));
          const Rows r = c.exec(sql);
          c.run("COMMIT");
          return r.i64(0, 0);
        } catch (...) {
          rollback_quietly(c);
          throw;
        }
      },
      false);
}

bool Database::retryable(const PgFailure& e) { return e.sqlstate() == "40001" || e.sqlstate() == "40P01"; }

void Database::rollback_quietly(Conn& c) {
  if (!c.ok()) return;
  try {
    c.run("ROLLBACK");
  } catch (...) {  // NOLINT: the connection is dropped by release() if it is broken
  }
}

void Database::backoff(int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int base = 2 << std::min(attempt, 6);  // 4, 8, 16 ... ms
  std::uniform_int_distribution<int> jitter(base / 2, base * 3 / 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
}

Error Database::map_error(const PgFailure& e) const {
  const std::string& s = e.sqlstate();
  if (s == "23505") {
    log(LogLevel::kDebug, std::string("postgres store: unique violation: ") + e.what());
    const std::string field = field_of(e.constraint());
    return field.empty() ? Error::conflict("the row already exists") : Error::conflict(field, "already taken");
  }
  if (s == "22P05" || s == "22021") {
    log(LogLevel::kDebug, std::string("postgres store: text refused: ") + e.what());
    return Error::invalid("text must be UTF-8 without NUL characters");
  }
  const bool unavailable = s.rfind("08", 0) == 0 || s == "57014" || s.rfind("57P", 0) == 0 ||
                           s.rfind("53", 0) == 0 || s == "40001" || s == "40P01" || s == "55P03";
  if (unavailable) {
    log(LogLevel::kWarn, fmt::format("postgres store: database unavailable ({}): {}", s, e.what()));
    return Error::unavailable("the database is unavailable");
  }
  log(LogLevel::kError, fmt::format("postgres store: statement failed ({}): {}", s, e.what()));
  return Error::internal("storage failure");
}

Conn* Database::acquire() {
  std::unique_lock lk(mu_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  for (;;) {
    if (!free_.empty()) {
      Conn* c = free_.back();
      free_.pop_back();
      return c;
    }
    if (static_cast<int>(all_.size()) + opening_ < capacity_) {
      ++opening_;
      lk.unlock();
      std::unique_ptr<Conn> c;
      try {
        c = connect();
      } catch (...) {
        lk.lock();
        --opening_;
        cv_.notify_one();
        throw;
      }
      lk.lock();
      --opening_;
      c->set_instance(instance_id_);
      all_.push_back(std::move(c));
      return all_.back().get();
    }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && free_.empty() &&
        static_cast<int>(all_.size()) + opening_ >= capacity_)
      return nullptr;
  }
}

void Database::release(Conn* c) {
  std::lock_guard lk(mu_);
  if (c->ok()) {
    free_.push_back(c);
  } else {
    // Broken (server restart, terminated backend): dropped; the next caller opens a new one.
    all_.erase(std::remove_if(all_.begin(), all_.end(), [&](const auto& p) { return p.get() == c; }), all_.end());
  }
  cv_.notify_one();
}

void Database::acquire_heavy() {
  const int limit = std::max(1, capacity_ / 2);
  std::unique_lock lk(heavy_mu_);
  heavy_cv_.wait(lk, [&] { return heavy_running_ < limit; });
  ++heavy_running_;
}

void Database::release_heavy() {
  {
    std::lock_guard lk(heavy_mu_);
    --heavy_running_;
  }
  heavy_cv_.notify_one();
}

}  // namespace chat::pg
